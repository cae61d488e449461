/**
 * Applying a pool's generated objects: the workers' objects and the topic
 * side by side, each branch recording its own blocker.
 *
 * @module
 */

import type { JobWorkerPool } from "../api/mod.ts";
import { type BlockerSlot, blockingApplier } from "./apply.ts";
import type { ConditionState } from "./conditions.ts";
import type { ReconcileContext } from "./context.ts";
import type { DeploymentView } from "./status.ts";
import type { SynthesizedObjects } from "./synthesis.ts";
import { applyTopic } from "./topic_apply.ts";
import { applyWorkers } from "./workers.ts";

/** What {@linkcode applyPool} needs besides the context. */
export interface PoolObjectsInput {
  /** The pool. */
  pool: JobWorkerPool;
  /** Its generated objects. */
  objects: SynthesizedObjects;
}

/** What applying the objects came to, for the status. */
export interface AppliedPool {
  /** The first condition a person must act on (workers before topic). */
  blocker: ConditionState | undefined;
  /** `TopicReady`. */
  topic: ConditionState;
  /** `ScalerReady`. */
  scaler: ConditionState;
  /** The applied worker Deployment, if any. */
  deploymentView: DeploymentView | undefined;
}

/**
 * Applies the workers' objects and the topic side by side. The topic does
 * not depend on the rest; the Deployment waits for KEDA's answer. Both
 * branches finish before this returns (the queue may then run the key
 * again), and each records its own blocker, so the one reported does not
 * depend on timing.
 */
export async function applyPool(
  context: ReconcileContext,
  { pool, objects }: PoolObjectsInput,
  signal: AbortSignal,
): Promise<AppliedPool> {
  const workerSlot: BlockerSlot = {};
  const topicSlot: BlockerSlot = {};
  const [workersResult, topicResult] = await Promise.allSettled([
    applyWorkers(context, {
      pool,
      objects,
      apply: blockingApplier(context, workerSlot, signal),
    }, signal),
    applyTopic(context, {
      pool,
      kafkaTopic: objects.kafkaTopic,
      apply: blockingApplier(context, topicSlot, signal),
    }, signal),
  ]);
  if (workersResult.status === "rejected") throw workersResult.reason;
  if (topicResult.status === "rejected") throw topicResult.reason;
  const topic = topicResult.value;
  if (topic.state.status === "False" && topic.blocking) topicSlot.blocker ??= topic.state;
  return {
    blocker: workerSlot.blocker ?? topicSlot.blocker,
    topic: topic.state,
    scaler: workersResult.value.scaler,
    deploymentView: workersResult.value.deploymentView,
  };
}
