/**
 * The consumer-group conflict path: when another pool on the same Kafka
 * cluster (in any watched namespace) owns this pool's consumer group, this
 * pool is `Ready=False` and its workers are stopped, since two pools must
 * never consume one group.
 *
 * @module
 */

import { consumerGroupOf, defaultConsumerGroup, type JobWorkerPool } from "../api/mod.ts";
import { scalerName, workerName } from "../synth/names.ts";
import { isResourceNotServed } from "../runtime/kube_client.ts";
import { RESOURCES } from "../runtime/resources.ts";
import { type ConditionState, REASONS } from "./conditions.ts";
import { consumerGroupWinner } from "./consumer_group.ts";
import type { ReconcileContext } from "./context.ts";

/** The parts of a Deployment's spec that say which group its workers consume. */
interface DeploymentSpecView {
  replicas?: number;
  template?: {
    spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> }> };
  };
}

/**
 * `Ready=False` when another pool owns this pool's consumer group, after
 * stopping this pool's workers; `undefined` when the group is this pool's.
 */
export async function consumerGroupConflict(
  context: ReconcileContext,
  pool: JobWorkerPool,
  signal: AbortSignal,
): Promise<ConditionState | undefined> {
  const winner = consumerGroupWinner(pool, context.knownPools(), {
    runsGroup: (other, group) => deploymentRunsGroup(context, other, group),
  });
  if (!winner) return undefined;
  await stopWorkers(context, pool, signal);
  return {
    status: "False",
    reason: REASONS.consumerGroupConflict,
    message: `Consumer group "${consumerGroupOf(pool)}" is already used on the same Kafka ` +
      `cluster by JobWorkerPool ${winner.metadata.namespace}/${winner.metadata.name} (groups ` +
      "are cluster-wide, whatever the namespace); two pools in one group steal each other's " +
      "partitions, and each skips the other's job types, so this pool's workers are stopped: set " +
      "spec.kafka.consumerGroup to a group of its own, or remove it to use the default " +
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
  if (!deployment) return false;
  if (!deployment.metadata.ownerReferences?.some((r) => r.uid === pool.metadata.uid)) {
    return false;
  }
  const spec = deployment["spec"] as DeploymentSpecView | undefined;
  if (spec?.replicas === 0) return false;
  return spec?.template?.spec?.containers?.some((c) =>
    c.env?.some((e) => e.name === "KAFKA_JOB_CONSUMER_GROUP" && e.value === group)
  ) ?? false;
}

/** Deletes the pool's ScaledObject and worker Deployment (when this pool owns them). */
async function stopWorkers(
  context: ReconcileContext,
  pool: JobWorkerPool,
  signal: AbortSignal,
): Promise<void> {
  const { client, events } = context;
  const namespace = pool.metadata.namespace ?? "";
  for (
    const [type, name] of [
      [RESOURCES.scaledObjects, scalerName(pool)],
      [RESOURCES.deployments, workerName(pool)],
    ] as const
  ) {
    try {
      const existing = await client.get(type, { namespace, name }, signal);
      if (!existing?.metadata.ownerReferences?.some((r) => r.uid === pool.metadata.uid)) continue;
      await client.delete(type, { namespace, name }, signal);
      await events.record(pool, {
        type: "Warning",
        reason: "WorkersStopped",
        message: `Deleted ${existing.kind} ${namespace}/${name}: its consumer group belongs to ` +
          "another pool",
      });
    } catch (error) {
      if (!isResourceNotServed(error)) throw error;
    }
  }
}
