/**
 * Who owns an existing KafkaTopic, and so what a pool that wants it may do:
 * apply it (nobody has it, this pool does, or a pool that is gone left it
 * behind: an orphan, adopted), share it (another live pool owns it with the
 * same spec: this pool only reads its status), or nothing (another pool owns
 * it with another spec, or it was not made by this operator).
 *
 * @module
 */

import type { JobWorkerPool } from "../api/mod.ts";
import { LABELS } from "../synth/names.ts";
import { STRIMZI_CLUSTER_LABEL } from "../synth/strimzi.ts";
import { isResourceNotServed } from "../runtime/kube_client.ts";
import { resourceTypeOf } from "../runtime/resources.ts";
import type { KubeObject } from "../runtime/object.ts";
import { APPLIED_TYPES } from "./apply.ts";
import { type ConditionState, REASONS } from "./conditions.ts";
import type { ReconcileContext } from "./context.ts";
import { POOL_RESOURCE } from "../api/mod.ts";

/** What a pool may do with the KafkaTopic it wants. */
export type TopicOwnership =
  | { kind: "apply" }
  | { kind: "share"; topic: KubeObject; owner: string }
  | { kind: "taken"; state: ConditionState };

/** The KafkaTopic spec fields two pools must agree on to share a topic. */
const SHARED_FIELDS = ["topicName", "partitions", "replicas", "config"] as const;

/** Whether `pool` may apply, may share, or may not touch the KafkaTopic `desired`. */
export async function topicOwnership(
  context: ReconcileContext,
  { pool, desired }: { pool: JobWorkerPool; desired: KubeObject },
  signal: AbortSignal,
): Promise<TopicOwnership> {
  const type = resourceTypeOf(desired, APPLIED_TYPES);
  if (!type) return { kind: "apply" };
  const where = `${desired.metadata.namespace}/${desired.metadata.name}`;
  const cached = context.cache?.(type, where);
  if (cached && cached.metadata.labels?.[LABELS.poolUid] === pool.metadata.uid) {
    return { kind: "apply" };
  }
  let existing: KubeObject | undefined;
  try {
    existing = await context.client.get(type, {
      namespace: desired.metadata.namespace ?? "",
      name: desired.metadata.name ?? "",
    }, signal);
  } catch (error) {
    if (isResourceNotServed(error)) return { kind: "apply" };
    throw error;
  }
  const labels = existing?.metadata.labels ?? {};
  if (!existing || labels[LABELS.poolUid] === pool.metadata.uid) return { kind: "apply" };
  if (await isOrphan(context, existing, signal)) return { kind: "apply" };
  const made = Boolean(labels[LABELS.poolNamespace] && labels[LABELS.poolName]);
  const owner = `JobWorkerPool ${labels[LABELS.poolNamespace]}/${labels[LABELS.poolName]}`;
  const differences = made ? specDifferences(desired, existing) : [];
  if (made && differences.length === 0) return { kind: "share", topic: existing, owner };
  return {
    kind: "taken",
    state: {
      status: "False",
      reason: REASONS.topicOwnedByAnotherPool,
      message: made
        ? `KafkaTopic ${where} belongs to ${owner}, which declares it differently ` +
          `(${differences.join("; ")}): pools share a topic only when they declare it ` +
          "alike, so make this pool's spec.kafka.topic (and Strimzi cluster) agree, give it " +
          "a topic of its own, or set spec.topicProvisioning.mode to none"
        : `KafkaTopic ${where} already exists and was not made by this operator: give this ` +
          "pool its own spec.kafka.topic.name, or set spec.topicProvisioning.mode to none to " +
          "use the existing topic",
    },
  };
}

/** `field: theirs ≠ ours` for every shared field on which the two KafkaTopics differ. */
function specDifferences(desired: KubeObject, existing: KubeObject): string[] {
  const spec = (object: KubeObject) => (object["spec"] ?? {}) as Record<string, unknown>;
  const differences: string[] = [];
  for (const field of SHARED_FIELDS) {
    const ours = stableJson(spec(desired)[field]);
    const theirs = stableJson(spec(existing)[field]);
    if (ours !== theirs) differences.push(`${field}: theirs ${theirs}, this pool's ${ours}`);
  }
  const cluster = (object: KubeObject) => object.metadata.labels?.[STRIMZI_CLUSTER_LABEL];
  if (cluster(desired) !== cluster(existing)) {
    differences.push(
      `Strimzi cluster: theirs ${cluster(existing)}, this pool's ${cluster(desired)}`,
    );
  }
  return differences;
}

/**
 * Whether a KafkaTopic made for a pool outlived it (deletionPolicy Retain) or
 * was released by it (the pool moved to another topic): its labels name a pool
 * that no longer exists, one with another uid, or no uid at all. Topics
 * without jobpool labels are never orphans.
 */
async function isOrphan(
  context: ReconcileContext,
  topic: KubeObject,
  signal: AbortSignal,
): Promise<boolean> {
  const labels = topic.metadata.labels ?? {};
  const namespace = labels[LABELS.poolNamespace];
  const name = labels[LABELS.poolName];
  const uid = labels[LABELS.poolUid];
  if (!namespace || !name) return false;
  if (!uid) return true;
  const owner = await context.client.get(POOL_RESOURCE, { namespace, name }, signal);
  return owner?.metadata.uid !== uid;
}

/** JSON with object keys sorted, `undefined` as "unset". */
function stableJson(value: unknown): string {
  if (value === undefined) return "unset";
  return JSON.stringify(
    value,
    (_key, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
        : v,
  );
}
