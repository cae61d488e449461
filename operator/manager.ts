/**
 * The operator's wiring, in one call: leader election on a Lease, then (while
 * leading) the watches feeding a work queue drained by the pool reconciler,
 * and the lag loop beside it; `/metrics`, `/healthz` and `/readyz` on an HTTP
 * port. `main.ts` runs it as a process; tests run several in one process.
 *
 * @module
 */

import { startObservabilityServer } from "../src/observability/server.ts";
import { logger } from "../src/observability/logging.ts";
import { type LagReader, runLagMonitor } from "./lag/mod.ts";
import { PoolReconciler, PoolWatches, type Synthesize } from "./reconcile/mod.ts";
import { MANAGER_NAME } from "./synth/names.ts";
import { type Clock, systemClock } from "./runtime/clock.ts";
import { runController } from "./runtime/controller.ts";
import { EventRecorder } from "./runtime/events.ts";
import type { KubeClient } from "./runtime/kube_client.ts";
import { KubeLeaseStore } from "./runtime/kube_lease_store.ts";
import { type LeaderElectionTiming, LeaderElector } from "./runtime/leader_election.ts";
import { createOperatorMetrics, type OperatorMetrics } from "./runtime/metrics.ts";
import { objectKey } from "./runtime/resources.ts";
import { WorkQueue } from "./runtime/work_queue.ts";

/** Options of {@linkcode startOperator}. */
export interface OperatorOptions {
  /** The API client. */
  client: KubeClient;
  /** Builds a pool's objects (`synthesizePool`). */
  synthesize: Synthesize;
  /** This replica's identity in the Lease and in Events. */
  identity: string;
  /** The Lease that elects the leader. */
  lease: { namespace: string; name: string } & LeaderElectionTiming;
  /** Only watch and reconcile pools in this namespace; all namespaces when unset. */
  watchNamespace?: string | undefined;
  /** Port for `/metrics`, `/healthz`, `/readyz` (0 picks one); no server when unset. */
  metricsPort?: number | undefined;
  /** Reconciles running at once (never two for one pool). @default 4 */
  concurrency?: number;
  /** Every pool is reconciled again this often. @default 300000 */
  resyncPeriodMs?: number;
  /** Restart watches silent for this long. @default 90000 */
  watchdogMs?: number;
  /** Longest wait before an informer lists again after errors (e.g. a missing CRD). @default 30000 */
  informerMaxBackoffMs?: number;
  /** First backoff after a failed reconcile. @default 200 */
  baseBackoffMs?: number;
  /** Reads each pool's consumer lag into its status, apart from reconciles; off when unset. */
  lag?: LagReader | undefined;
  /** With `lag`: how often each pool's lag is refreshed. @default 30000 */
  lagRefreshMs?: number;
  /** With `lag`: lag reads at once. @default 4 */
  lagConcurrency?: number;
  /** Called after every reconcile (benchmarks measure latency with it). */
  onReconciled?: (key: string, seconds: number, error: unknown) => void;
  /** Time source; default the system clock. */
  clock?: Clock;
}

/** A running operator. */
export interface RunningOperator {
  /** Whether this replica currently leads (and reconciles). */
  readonly isLeader: boolean;
  /** The HTTP port of `/metrics`, when a server runs. */
  readonly port: number | undefined;
  /** The replica's metrics (its own registry). */
  readonly metrics: OperatorMetrics;
  /** Stops reconciling, releases the Lease, closes the server. */
  stop(): Promise<void>;
  /** Resolves when the operator stopped (after {@linkcode RunningOperator.stop}). */
  readonly done: Promise<void>;
}

const log = logger("operator");

/** Starts an operator replica; it reconciles once it wins the Lease. */
export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const clock = options.clock ?? systemClock;
  const metrics = createOperatorMetrics();
  const stopping = new AbortController();
  const elector = new LeaderElector({
    store: new KubeLeaseStore({ client: options.client, ...options.lease }),
    identity: options.identity,
    clock,
    ...timing(options.lease),
  });
  let synced = false;
  const server = options.metricsPort === undefined ? undefined : await startObservabilityServer({
    port: options.metricsPort,
    registry: metrics.registry,
    isAlive: () => !stopping.signal.aborted,
    // A standby replica is ready (it serves metrics and waits for the Lease).
    isReady: () => !elector.isLeader || synced,
  });

  const lead = async (leading: AbortSignal) => {
    metrics.leader.set(1);
    try {
      await runLeading(options, { metrics, clock, signal: leading, onSynced: () => synced = true });
    } catch (error) {
      log.error("The controller stopped with an error: {error}", { error: String(error) });
    } finally {
      synced = false;
      metrics.leader.set(0);
    }
  };

  const done = (async () => {
    let leading: Promise<void> | undefined;
    while (!stopping.signal.aborted) {
      await elector.run(stopping.signal, {
        onStartedLeading: (signal) => leading = lead(signal),
      });
      await leading;
      leading = undefined;
    }
    await server?.close();
  })();

  return {
    get isLeader() {
      return elector.isLeader;
    },
    port: server?.port,
    metrics,
    done,
    async stop() {
      stopping.abort(new Error("operator stopping"));
      await done;
    },
  };
}

/**
 * While this replica leads: the watches feed a work queue, the controller
 * drains it into the reconciler, and (with `lag`) the lag loop runs beside.
 */
async function runLeading(
  options: OperatorOptions,
  context: { metrics: OperatorMetrics; clock: Clock; signal: AbortSignal; onSynced: () => void },
): Promise<void> {
  const { client } = options;
  const { metrics, clock, signal } = context;
  const queue = new WorkQueue({ clock, baseBackoffMs: options.baseBackoffMs ?? 200 });
  const watches = new PoolWatches({
    client,
    namespace: options.watchNamespace,
    enqueue: (key) => {
      queue.add(key);
      metrics.queueDepth.set(queue.length);
    },
    watchdogMs: options.watchdogMs ?? 90_000,
    maxBackoffMs: options.informerMaxBackoffMs ?? 30_000,
    clock,
  });
  const watching = watches.run(signal);
  await watches.waitForPools(signal);
  context.onSynced();
  const reconciler = new PoolReconciler({
    client,
    synthesize: options.synthesize,
    events: new EventRecorder({
      client,
      component: MANAGER_NAME,
      instance: options.identity,
      clock,
    }),
    knownPools: () => watches.pools(),
    cache: (type, key) => watches.cached(type, key),
    clock,
  });
  const controlling = runController({
    queue,
    reconciler,
    metrics,
    resyncKeys: () => watches.pools().map(objectKey),
    clock,
    ...(options.resyncPeriodMs !== undefined ? { resyncPeriodMs: options.resyncPeriodMs } : {}),
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    ...(options.onReconciled ? { onReconciled: options.onReconciled } : {}),
  }, signal);
  const lag = options.lag
    ? runLagMonitor({
      client,
      reader: options.lag,
      pools: () => watches.pools(),
      intervalMs: options.lagRefreshMs ?? 30_000,
      clock,
      ...(options.lagConcurrency !== undefined ? { concurrency: options.lagConcurrency } : {}),
    }, signal)
    : undefined;
  await Promise.all([controlling, watching, lag]);
}

function timing(lease: LeaderElectionTiming): LeaderElectionTiming {
  const result: LeaderElectionTiming = {};
  if (lease.leaseDurationMs !== undefined) result.leaseDurationMs = lease.leaseDurationMs;
  if (lease.renewDeadlineMs !== undefined) result.renewDeadlineMs = lease.renewDeadlineMs;
  if (lease.retryPeriodMs !== undefined) result.retryPeriodMs = lease.retryPeriodMs;
  return result;
}
