/**
 * The topic step: the Strimzi KafkaTopic applied (unless another pool owns
 * it; shared when that pool declares it alike), `TopicReady` from the topic
 * operator's answer, and the topics the pool left behind when its topic
 * changed.
 *
 * @module
 */

import type { JobWorkerPool } from "../api/mod.ts";
import type { Manifest } from "../runtime/object.ts";
import { applyObject } from "./apply.ts";
import { type ConditionState, fromForeignReady, REASONS } from "./conditions.ts";
import type { ReconcileContext } from "./context.ts";
import { notServedState } from "./not_served.ts";
import type { StepOutcome } from "./outcome.ts";
import { releaseLeftoverTopics } from "./topic_leftovers.ts";
import { topicOwnership } from "./topic_ownership.ts";

/** Applies the pool's KafkaTopic, unless it is not managed or belongs to someone else. */
export async function applyTopic(
  context: ReconcileContext,
  { pool, kafkaTopic }: { pool: JobWorkerPool; kafkaTopic: Manifest | undefined },
  signal: AbortSignal,
): Promise<StepOutcome> {
  // A new generation may have renamed or moved the topic: handle the one left behind.
  if (pool.status?.observedGeneration !== pool.metadata.generation) {
    await releaseLeftoverTopics(context, { pool, desired: kafkaTopic }, signal);
  }
  if (!kafkaTopic) {
    return {
      condition: {
        status: "True",
        reason: REASONS.topicNotManaged,
        message: `Topic "${pool.spec.kafka.topic.name}" is not provisioned by the operator ` +
          "(spec.topicProvisioning.mode is none): it must exist already",
      },
    };
  }
  const where = `KafkaTopic ${kafkaTopic.metadata.namespace}/${kafkaTopic.metadata.name}`;
  const ownership = await topicOwnership(context, { pool, desired: kafkaTopic }, signal);
  if (ownership.kind === "taken") return { condition: ownership.state, blocker: ownership.state };
  if (ownership.kind === "share") {
    const shared = `${where} (shared with ${ownership.owner}, declared alike)`;
    return { condition: topicStatus(ownership.topic["status"], shared) };
  }
  const applied = await applyObject(context, kafkaTopic, {}, signal);
  switch (applied.kind) {
    case "refused":
      return {
        condition: { status: "False", reason: REASONS.applyFailed, message: "See Ready" },
        blocker: applied.blocker,
      };
    case "notServed":
      return {
        condition: await notServedState(context, {
          type: applied.type,
          missing: "Strimzi's KafkaTopic CRD (kafkatopics.kafka.strimzi.io) is not installed: " +
            "install the Strimzi operator, or set spec.topicProvisioning.mode to none and " +
            "create the topic yourself",
          otherVersions: (served) =>
            served.includes("v1") || served.includes("v1beta2")
              ? `set spec.topicProvisioning.strimzi.apiVersion to ${
                served.includes("v1") ? "v1" : "v1beta2"
              }`
              : "upgrade Strimzi to a version serving v1 (0.49 or later) or v1beta2",
        }, signal),
      };
    case "applied":
      return { condition: topicStatus(applied.object["status"], where) };
  }
}

/** `TopicReady` from a KafkaTopic's status as the Strimzi topic operator writes it. */
function topicStatus(status: unknown, what: string): ConditionState {
  return fromForeignReady(status as never, {
    readyReason: REASONS.topicReady,
    notReadyReason: REASONS.topicNotReady,
    what,
    missing: {
      status: "Unknown",
      reason: REASONS.waitingForTopicOperator,
      message: `${what} is applied; waiting for the Strimzi topic operator to report on it`,
    },
  });
}
