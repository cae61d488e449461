/**
 * The topic branch of applying a pool: the Strimzi KafkaTopic (unless another
 * owner has it; shared when another pool declares it alike), `TopicReady`
 * from the topic operator's answer, and the topics the pool left behind when
 * its topic changed.
 *
 * @module
 */

import type { JobWorkerPool } from "../api/mod.ts";
import { resourceTypeOf } from "../runtime/resources.ts";
import type { KubeObject } from "../runtime/object.ts";
import { APPLIED_TYPES, type Applier } from "./apply.ts";
import { type ConditionState, fromForeignReady, REASONS } from "./conditions.ts";
import type { ReconcileContext } from "./context.ts";
import { notServedState } from "./not_served.ts";
import { releaseLeftoverTopics } from "./topic_leftovers.ts";
import { topicOwnership } from "./topic_ownership.ts";

/** What {@linkcode applyTopic} needs besides the context. */
export interface TopicInput {
  /** The pool. */
  pool: JobWorkerPool;
  /** The generated KafkaTopic; none when the operator does not provision the topic. */
  kafkaTopic: object | undefined;
  /** Applies it. */
  apply: Applier;
}

/** `TopicReady`; `blocking` when the pool cannot be ready because of it. */
export interface TopicOutcome {
  /** The condition. */
  state: ConditionState;
  /** Whether the condition blocks the pool (another owner has the topic). */
  blocking: boolean;
}

/** Applies the pool's KafkaTopic, unless it is not managed or belongs to someone else. */
export async function applyTopic(
  context: ReconcileContext,
  { pool, kafkaTopic, apply }: TopicInput,
  signal: AbortSignal,
): Promise<TopicOutcome> {
  // A new generation may have renamed or moved the topic: handle the one left behind.
  if (pool.status?.observedGeneration !== pool.metadata.generation) {
    await releaseLeftoverTopics(context, { pool, desired: kafkaTopic as KubeObject }, signal);
  }
  if (!kafkaTopic) {
    return {
      blocking: false,
      state: {
        status: "True",
        reason: REASONS.topicNotManaged,
        message: `Topic "${pool.spec.kafka.topic.name}" is not provisioned by the operator ` +
          "(spec.topicProvisioning.mode is none): it must exist already",
      },
    };
  }
  const desired = kafkaTopic as KubeObject;
  const ownership = await topicOwnership(context, { pool, desired }, signal);
  if (ownership.kind === "taken") return { blocking: true, state: ownership.state };
  if (ownership.kind === "share") {
    const where = `${desired.metadata.namespace}/${desired.metadata.name}`;
    return {
      blocking: false,
      state: topicStatus(
        ownership.topic["status"],
        `KafkaTopic ${where} (shared with ${ownership.owner}, declared alike)`,
      ),
    };
  }
  const applied = await apply(kafkaTopic);
  if (applied === "notServed") {
    return { blocking: false, state: await topicNotServed(context, desired, signal) };
  }
  return { blocking: false, state: topicCondition(desired, applied) };
}

/** `TopicReady` when the KafkaTopic kind is not served in the version the pool asks for. */
function topicNotServed(
  context: ReconcileContext,
  desired: KubeObject,
  signal: AbortSignal,
): Promise<ConditionState> {
  const type = resourceTypeOf(desired, APPLIED_TYPES);
  if (!type) throw new TypeError(`Cannot apply ${desired.apiVersion}: not a KafkaTopic version`);
  return notServedState(context, {
    type,
    missing: `Strimzi's KafkaTopic CRD (kafkatopics.kafka.strimzi.io) is not installed: ` +
      "install the Strimzi operator, or set spec.topicProvisioning.mode to none and create " +
      "the topic yourself",
    otherVersions: (served) =>
      served.includes("v1") || served.includes("v1beta2")
        ? `set spec.topicProvisioning.strimzi.apiVersion to ${
          served.includes("v1") ? "v1" : "v1beta2"
        }`
        : "upgrade Strimzi to a version serving v1 (0.49 or later) or v1beta2",
  }, signal);
}

/** `TopicReady` from the result of applying the KafkaTopic `desired`. */
function topicCondition(desired: KubeObject, applied: KubeObject | undefined): ConditionState {
  const where = `${desired.metadata.namespace}/${desired.metadata.name}`;
  if (applied === undefined) {
    return { status: "False", reason: REASONS.applyFailed, message: "See the Ready condition" };
  }
  return topicStatus(applied["status"], `KafkaTopic ${where}`);
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
