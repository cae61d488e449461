/**
 * One scale-up-and-drain cycle on the real loop — lag → KEDA → HPA →
 * Deployment → Pods → worker processes → lag drains → fewer replicas —
 * recorded as a timeline. Shared by `scaling_cycle_test.ts`, which asserts
 * on it, and `deno task bench:scaling`, which reports it.
 *
 * @module
 */

import type { KubeObject } from "../../operator/runtime/mod.ts";
import { eventually } from "./operator_support.ts";
import {
  createPool,
  poolManifest,
  type ReplicaSample,
  type ScalingStack,
} from "./scaling_stack.ts";

/** Settings of {@linkcode runScaleCycle}. */
export interface ScaleCycleOptions {
  /** `scaling.lagThreshold`. @default 20 */
  lagThreshold?: number;
  /** The backlog, in multiples of the lag threshold. @default 100 */
  backlogFactor?: number;
  /** `replicas`. @default {min: 1, max: 6} */
  replicas?: { min: number; max: number };
  /** `pool` (the adaptive in-process pool). @default {min: 1, max: 4} */
  pool?: { min: number; max: number };
  /** Milliseconds per job. @default 100 */
  jobMs?: number;
  /** `scaling.pollingInterval` in seconds. @default 2 */
  pollingInterval?: number;
  /** Called with each timeline sample, for progress. */
  onSample?: (sample: TimelineSample) => void;
}

/** The state of the loop at one moment of the cycle. */
export interface TimelineSample {
  /** Seconds since the backlog was produced. */
  t: number;
  /** The Deployment's `spec.replicas`. */
  replicas: number;
  /** Its `status.readyReplicas`. */
  ready: number;
  /** Worker processes the node runs. */
  processes: number;
  /** The group's lag. */
  lag: number;
}

/** What a cycle did. */
export interface ScaleCycle {
  settings: Required<Omit<ScaleCycleOptions, "onSample">> & { partitions: number };
  /** The jobs produced. */
  ids: string[];
  /** Seconds since the backlog was produced at which each milestone was first seen. */
  seconds: { maxReplicas: number; maxReady: number | null; drained: number; backAtMin: number };
  /** One sample a second. */
  timeline: TimelineSample[];
  /** Every change of the Deployment's replicas from the backlog on (and the state before it). */
  replicaChanges: ReplicaSample[];
  /** Job ids delivered (with repeats) and effects done. */
  deliveries: string[];
  effects: Set<string>;
  /** Pool resizes per worker process, `[from, to]`. */
  resizes: [number, number][][];
}

/** A generous deadline for each step: these are waits, not timing assertions. */
const STEP_TIMEOUT_MS = 240_000;

/**
 * Creates a pool on `stack` (which must run a node), waits until its
 * minimum of replicas is ready, produces the backlog, and follows the loop
 * until the backlog is done and the replicas are back at the minimum.
 */
export async function runScaleCycle(
  stack: ScalingStack,
  options: ScaleCycleOptions = {},
): Promise<ScaleCycle> {
  const settings = {
    lagThreshold: options.lagThreshold ?? 20,
    backlogFactor: options.backlogFactor ?? 100,
    replicas: options.replicas ?? { min: 1, max: 6 },
    pool: options.pool ?? { min: 1, max: 4 },
    jobMs: options.jobMs ?? 100,
    pollingInterval: options.pollingInterval ?? 2,
    partitions: 12,
  };
  const { replicas } = settings;
  await createPool(
    stack,
    poolManifest(stack, "cycle", {
      jobMs: settings.jobMs,
      spec: {
        kafka: { topic: { name: stack.topic, partitions: settings.partitions } },
        replicas,
        pool: settings.pool,
        scaling: {
          lagThreshold: settings.lagThreshold,
          pollingInterval: settings.pollingInterval,
          cooldownPeriod: 10,
        },
      },
    }),
  );
  const deployment = () => deploymentOf(stack);
  await eventually(
    `the pool's ${replicas.min} replica(s) to be ready before the backlog`,
    async () => {
      const found = await deployment();
      return found && specReplicas(found) === replicas.min && readyReplicas(found) === replicas.min;
    },
    STEP_TIMEOUT_MS,
  );

  const started = Date.now();
  const since = () => Math.round((Date.now() - started) / 100) / 10;
  const ids = await stack.produce(settings.lagThreshold * settings.backlogFactor);
  const timeline: TimelineSample[] = [];
  const sample = async () => {
    try {
      const found = await deployment();
      const taken = {
        t: since(),
        replicas: found ? specReplicas(found) : 0,
        ready: found ? readyReplicas(found) : 0,
        processes: stack.node?.running().length ?? 0,
        lag: await stack.lag(),
      };
      timeline.push(taken);
      options.onSample?.(taken);
    } catch { /* one sample lost; the next one comes in a second */ }
  };
  await sample();
  const sampling = setInterval(sample, 1_000);

  try {
    const reached = (predicate: (d: KubeObject) => boolean, what: string) =>
      eventually(what, async () => {
        const found = await deployment();
        return found && predicate(found) ? since() : undefined;
      }, STEP_TIMEOUT_MS);
    const maxReplicas = await reached(
      (d) => specReplicas(d) === replicas.max,
      `the Deployment to reach ${replicas.max} replicas`,
    );
    const maxReadyAt = () =>
      stack.replicaHistory.find((s) => s.at >= started && s.ready === replicas.max)?.at;
    const drained = await eventually("the backlog to be done and committed", async () => {
      const { effects } = await stack.effects();
      return effects.size >= ids.length && await stack.lag() === 0 ? since() : undefined;
    }, STEP_TIMEOUT_MS);
    const backAtMin = await reached(
      (d) => specReplicas(d) === replicas.min && readyReplicas(d) === replicas.min,
      `the Deployment to return to ${replicas.min} ready replica(s)`,
    );
    await sample(); // the state at the end, on the timeline too
    const maxReady = maxReadyAt();
    const { deliveries, effects } = await stack.effects();
    return {
      settings,
      ids,
      seconds: {
        maxReplicas,
        maxReady: maxReady === undefined ? null : Math.round((maxReady - started) / 100) / 10,
        drained,
        backAtMin,
      },
      timeline,
      replicaChanges: [
        ...stack.replicaHistory.filter((s) => s.at < started).slice(-1),
        ...stack.replicaHistory.filter((s) => s.at >= started),
      ],
      deliveries,
      effects,
      resizes: await stack.resizes(),
    };
  } catch (error) {
    const recent = timeline.slice(-20).map((s) =>
      `${s.t}s replicas=${s.replicas} ready=${s.ready} processes=${s.processes} lag=${s.lag}`
    );
    const events = stack.node?.events().slice(-20).map((e) =>
      `${Math.round((e.at - started) / 100) / 10}s ${e.pod} ${e.type}${
        e.code === undefined ? "" : ` ${e.code}`
      }`
    ) ?? [];
    throw new Error(
      `${(error as Error).message}\nTimeline (last 20 s):\n${recent.join("\n")}\n` +
        `Node events (last 20):\n${events.join("\n")}`,
      { cause: error },
    );
  } finally {
    clearInterval(sampling);
  }
}

/** The one Deployment in the stack's namespace. */
async function deploymentOf(stack: ScalingStack): Promise<KubeObject | undefined> {
  const list = await stack.api.request(
    "GET",
    `/apis/apps/v1/namespaces/${stack.namespace}/deployments`,
  );
  return list.items[0];
}

function specReplicas(deployment: KubeObject): number {
  return (deployment["spec"] as { replicas?: number }).replicas ?? 0;
}

function readyReplicas(deployment: KubeObject): number {
  return (deployment["status"] as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0;
}

/** The distinct `spec.replicas` values in order (ready-only changes dropped). */
export function replicaSteps(samples: readonly ReplicaSample[]): number[] {
  const steps: number[] = [];
  for (const sample of samples) if (steps.at(-1) !== sample.replicas) steps.push(sample.replicas);
  return steps;
}

/** How often a sequence turns from rising to falling or back. */
export function reversals(values: readonly number[]): number {
  let count = 0;
  let direction = 0;
  for (let i = 1; i < values.length; i++) {
    const step = Math.sign(values[i]! - values[i - 1]!);
    if (step === 0) continue;
    if (direction !== 0 && step !== direction) count++;
    direction = step;
  }
  return count;
}

/** How many deliveries repeated a job delivered before. */
export function repeats(deliveries: readonly string[]): number {
  return deliveries.length - new Set(deliveries).size;
}
