/**
 * The apply phase of a reconcile: the topic, and side by side the scaler
 * then the workers (the Deployment's replicas depend on whether a scaler
 * runs). Both branches finish before this returns (the queue may then run the
 * key again), and each returns its own outcome, so what is reported does not
 * depend on timing.
 *
 * @module
 */

import type { JobWorkerPool } from "../api/mod.ts";
import type { ConditionState } from "./conditions.ts";
import { REASONS } from "./conditions.ts";
import type { ReconcileContext } from "./context.ts";
import type { Desired } from "./desired.ts";
import type { PoolOutcome } from "./outcome.ts";
import { applyScaler, fixedReplicas } from "./scaler.ts";
import { applyTopic } from "./topic.ts";
import { applyWorkers, stopWorkers } from "./workers.ts";

const NOT_RECONCILED: ConditionState = {
  status: "Unknown",
  reason: REASONS.notReconciled,
  message: "Not reconciled: see the Ready condition",
};

/** Makes the world match `desired`: the pool's objects applied, its workers stopped, or nothing. */
export async function applyPool(
  context: ReconcileContext,
  { pool, desired }: { pool: JobWorkerPool; desired: Desired },
  signal: AbortSignal,
): Promise<PoolOutcome> {
  if (desired.kind !== "run") {
    if (desired.kind === "stop") await stopWorkers(context, pool, signal);
    const { blocker } = desired;
    return { blocker, topic: NOT_RECONCILED, scaler: NOT_RECONCILED, deployment: undefined };
  }
  const { objects } = desired;
  const workers = async () => {
    const scaler = await applyScaler(context, { pool, objects }, signal);
    const fixed = scaler.scales ? undefined : fixedReplicas(pool);
    const applied = await applyWorkers(
      context,
      { pool, deployment: objects.deployment, fixedReplicas: fixed },
      signal,
    );
    return { scaler, ...applied };
  };
  const [workersResult, topicResult] = await Promise.allSettled([
    workers(),
    applyTopic(context, { pool, kafkaTopic: objects.kafkaTopic }, signal),
  ]);
  if (workersResult.status === "rejected") throw workersResult.reason;
  if (topicResult.status === "rejected") throw topicResult.reason;
  const { scaler, deployment, blocker } = workersResult.value;
  const topic = topicResult.value;
  return {
    blocker: scaler.blocker ?? blocker ?? topic.blocker,
    topic: topic.condition,
    scaler: scaler.condition,
    deployment,
  };
}
