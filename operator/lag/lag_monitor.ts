/**
 * The lag loop, apart from reconciling: every `intervalMs` it reads the lag
 * of every live pool (a few at a time) and writes `status.lag` only when it
 * changed, under a field manager of its own, so that the reconciler's status
 * never erases it and a slow or unreachable Kafka cluster never delays a
 * reconcile. A cluster whose reads fail is skipped with a growing backoff,
 * logged once as a warning per failure streak (then at debug), and its pools'
 * `status.lag` is cleared rather than left stale.
 *
 * @module
 */

import { logger } from "../../src/observability/logging.ts";
import { API_VERSION, type JobWorkerPool, KIND } from "../api/mod.ts";
import { type Clock, sleep, systemClock } from "../runtime/clock.ts";
import { isApiError, type KubeClient } from "../runtime/kube_client.ts";
import { KafkaUnreachableError, type LagReader } from "./kafka_lag_reader.ts";
import { POOL_RESOURCE } from "../api/mod.ts";

/** The field manager that owns `status.lag`. */
export const LAG_FIELD_MANAGER = "jobpool-operator-lag";

/** Options of {@linkcode runLagMonitor}. */
export interface LagMonitorOptions {
  /** Writes `status.lag`. */
  client: KubeClient;
  /** Reads one pool's lag. */
  reader: LagReader;
  /** The pools to read (the informer's cache). */
  pools: () => JobWorkerPool[];
  /** Time between passes, and the first backoff of a failing cluster. */
  intervalMs: number;
  /** Reads at once. @default 4 */
  concurrency?: number;
  /** Longest backoff of a failing cluster. @default 600000 */
  maxBackoffMs?: number;
  /** Called after every pass (tests wait on it). */
  onPass?: () => void;
  /** Time source; default the system clock. */
  clock?: Clock;
}

interface ClusterFailure {
  failures: number;
  retryAt: number;
}

/** What the monitor remembers between passes. */
interface MonitorState {
  clock: Clock;
  /** Failing clusters, by {@linkcode lagClusterKey}, with their backoff. */
  failing: Map<string, ClusterFailure>;
  /** Pools whose last read failed on a cluster that otherwise answered. */
  failingPools: Set<string>;
  signal: AbortSignal;
}

const log = logger("operator", "lag");

/** Runs passes until `signal` aborts. */
export async function runLagMonitor(
  options: LagMonitorOptions,
  signal: AbortSignal,
): Promise<void> {
  const clock = options.clock ?? systemClock;
  const state = { clock, failing: new Map(), failingPools: new Set<string>(), signal };
  while (!signal.aborted) {
    await pass(options, state).catch((error) => {
      if (!signal.aborted) log.warn("Lag pass failed: {error}", { error: String(error) });
    });
    options.onPass?.();
    try {
      await sleep(clock, options.intervalMs, signal);
    } catch {
      return;
    }
  }
}

/** The identity of a pool's Kafka cluster and credentials (what one admin client serves). */
export function lagClusterKey(pool: JobWorkerPool): string {
  const { kafka } = pool.spec;
  const secrets = kafka.sasl || kafka.tls.caSecretRef || kafka.tls.clientCertSecretRef
    ? pool.metadata.namespace
    : undefined;
  return JSON.stringify([
    [...kafka.bootstrapServers].sort(),
    kafka.tls,
    kafka.sasl ?? null,
    secrets ?? null,
  ]);
}

async function pass(options: LagMonitorOptions, state: MonitorState): Promise<void> {
  const { clock, failing } = state;
  const now = clock.now();
  const clusters = new Map<string, JobWorkerPool[]>();
  for (const pool of options.pools()) {
    if (pool.metadata.deletionTimestamp) continue;
    const cluster = lagClusterKey(pool);
    const failure = failing.get(cluster);
    if (failure && failure.retryAt > now) continue;
    clusters.set(cluster, [...(clusters.get(cluster) ?? []), pool]);
  }
  // Clusters side by side, a cluster's pools one after the other over its one client.
  await forEachBounded([...clusters], options.concurrency ?? 4, async ([cluster, pools]) => {
    const unreachable = await readCluster(options, state, pools);
    if (unreachable) backOff(options, state, cluster, pools, unreachable);
    else if (failing.delete(cluster)) log.info("Lag on {cluster} is readable again", { cluster });
  });
}

/**
 * Reads and writes the lag of `pools`, one cluster's, in turn; stops at the
 * first sign that the cluster cannot be reached and returns that error.
 */
async function readCluster(
  options: LagMonitorOptions,
  state: MonitorState,
  pools: JobWorkerPool[],
): Promise<KafkaUnreachableError | undefined> {
  const { failingPools, signal } = state;
  let unreachable: KafkaUnreachableError | undefined;
  for (const pool of pools) {
    if (signal.aborted) return undefined;
    const name = `${pool.metadata.namespace}/${pool.metadata.name}`;
    let lag: number | undefined;
    if (!unreachable) {
      try {
        lag = await options.reader.read(pool, signal);
        if (failingPools.delete(name)) log.info("Lag of {pool} is readable again", { pool: name });
      } catch (error) {
        if (signal.aborted) return undefined;
        if (error instanceof KafkaUnreachableError) unreachable = error;
        else if (!failingPools.has(name)) {
          // The pool's own Secret or topic, not its cluster: no backoff, a warning per streak.
          failingPools.add(name);
          log.warn("Cannot read the lag of {pool} (status.lag is cleared meanwhile): {error}", {
            pool: name,
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }
    }
    if (pool.status?.lag === lag) continue;
    await writeLag(options.client, pool, lag, signal).catch((error) => {
      if (!signal.aborted) {
        log.warn("Cannot write status.lag of {pool}: {error}", {
          pool: name,
          error: String(error),
        });
      }
    });
  }
  return unreachable;
}

/** Skips `cluster` for a growing while; warns once per failure streak, then at debug. */
function backOff(
  options: LagMonitorOptions,
  state: MonitorState,
  cluster: string,
  pools: JobWorkerPool[],
  error: KafkaUnreachableError,
): void {
  const failures = (state.failing.get(cluster)?.failures ?? 0) + 1;
  const delay = Math.min(options.maxBackoffMs ?? 600_000, options.intervalMs * 2 ** (failures - 1));
  state.failing.set(cluster, { failures, retryAt: state.clock.now() + delay });
  const details = {
    pools: pools.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(", "),
    delay: Math.round(delay / 1000),
    error: error.message,
  };
  const message = "Cannot read the lag of {pools}, trying again in {delay} s (status.lag is " +
    "cleared meanwhile; the operator needs network access to the brokers): {error}";
  if (failures === 1) log.warn(message, details);
  else log.debug(message, details);
}

/** Applies `status.lag` (or removes it, for `undefined`) as {@linkcode LAG_FIELD_MANAGER}. */
async function writeLag(
  client: KubeClient,
  pool: JobWorkerPool,
  lag: number | undefined,
  signal: AbortSignal,
): Promise<void> {
  try {
    await client.apply(POOL_RESOURCE, {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name: pool.metadata.name, namespace: pool.metadata.namespace ?? "" },
      status: lag === undefined ? {} : { lag },
    }, { subresource: "status", fieldManager: LAG_FIELD_MANAGER, signal });
  } catch (error) {
    if (!isApiError(error, 404)) throw error; // A pool deleted meanwhile needs no lag.
  }
}

async function forEachBounded<T>(
  items: readonly T[],
  concurrency: number,
  run: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await run(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
