/**
 * What a pool should be, before anything is written: its generated objects,
 * or why it cannot run. A pool whose consumer group another pool on the same
 * Kafka cluster already runs must stop (two pools in one group steal each
 * other's partitions); a spec the synthesizer refuses holds everything as it
 * is. Both are conditions a person must act on.
 *
 * @module
 */

import { consumerGroupOf, defaultConsumerGroup, type JobWorkerPool } from "../api/mod.ts";
import type { PoolObjects } from "../synth/mod.ts";
import { workerName } from "../synth/names.ts";
import { RESOURCES } from "../runtime/resources.ts";
import { type ConditionState, REASONS } from "./conditions.ts";
import { consumerGroupWinner } from "./consumer_group.ts";
import type { ReconcileContext } from "./context.ts";

/** The objects generated for a pool (`synthesizePool`'s). */
export type SynthesizedObjects = PoolObjects;

/** A pure function from a pool to its generated objects (`synthesizePool`). */
export type Synthesize = (pool: JobWorkerPool) => SynthesizedObjects;

/** What the pool should be: running these objects, stopped, or left as it is. */
export type Desired =
  | { kind: "run"; objects: SynthesizedObjects }
  | { kind: "stop"; blocker: ConditionState }
  | { kind: "hold"; blocker: ConditionState };

/** The desired state of `pool`, from the other pools in the cache and its spec. */
export function desiredState(
  context: ReconcileContext,
  synthesize: Synthesize,
  pool: JobWorkerPool,
): Desired {
  const winner = consumerGroupWinner(pool, context.knownPools(), {
    runsGroup: (other, group) => deploymentRunsGroup(context, other, group),
  });
  if (winner) return { kind: "stop", blocker: groupConflict(pool, winner) };
  const objects = synthesizeOrBlock(synthesize, pool);
  return "status" in objects ? { kind: "hold", blocker: objects } : { kind: "run", objects };
}

/** The generated objects, or `Ready=False` when the spec cannot be turned into them. */
export function synthesizeOrBlock(
  synthesize: Synthesize,
  pool: JobWorkerPool,
): SynthesizedObjects | ConditionState {
  try {
    return synthesize(pool);
  } catch (error) {
    if (!(error instanceof TypeError || error instanceof RangeError)) throw error;
    return {
      status: "False",
      reason: REASONS.invalidSpec,
      message: `The spec cannot be turned into a worker Deployment: ${error.message}`,
    };
  }
}

function groupConflict(pool: JobWorkerPool, winner: JobWorkerPool): ConditionState {
  return {
    status: "False",
    reason: REASONS.consumerGroupConflict,
    message: `Consumer group "${consumerGroupOf(pool)}" is already used on the same Kafka ` +
      `cluster by JobWorkerPool ${winner.metadata.namespace}/${winner.metadata.name} (groups ` +
      "are cluster-wide, whatever the namespace); two pools in one group steal each other's " +
      "partitions, and each skips the other's job types, so this pool's workers are stopped: " +
      "set spec.kafka.consumerGroup to a group of its own, or remove it to use the default " +
      `"${defaultConsumerGroup(pool)}"`,
  };
}

/** Whether the cached worker Deployment of `pool` runs consumer group `group` with replicas. */
function deploymentRunsGroup(
  context: ReconcileContext,
  pool: JobWorkerPool,
  group: string,
): boolean {
  const key = `${pool.metadata.namespace}/${workerName(pool)}`;
  const deployment = context.cache?.(RESOURCES.deployments, key);
  if (!deployment?.metadata.ownerReferences?.some((r) => r.uid === pool.metadata.uid)) {
    return false;
  }
  const spec = deployment["spec"] as DeploymentSpecView | undefined;
  if (spec?.replicas === 0) return false;
  return spec?.template?.spec?.containers?.some((c) =>
    c.env?.some((e) => e.name === "KAFKA_JOB_CONSUMER_GROUP" && e.value === group)
  ) ?? false;
}

/** The parts of a Deployment's spec that say which group its workers consume. */
interface DeploymentSpecView {
  replicas?: number;
  template?: {
    spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> }> };
  };
}
