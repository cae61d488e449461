/**
 * Who owns an existing KafkaTopic: this pool, another live pool, something
 * other than this operator, or a pool that is gone (an orphan, adopted by the
 * pool that asks for it).
 *
 * @module
 */

import type { JobWorkerPool } from "../api/mod.ts";
import { LABELS } from "../synth/names.ts";
import { isResourceNotServed } from "../runtime/kube_client.ts";
import { type KubeObject, resourceTypeOf } from "../runtime/resources.ts";
import { APPLIED_TYPES } from "./apply.ts";
import { type ConditionState, REASONS } from "./conditions.ts";
import type { ReconcileContext } from "./context.ts";
import { POOL_RESOURCE } from "./pool_resource.ts";

/**
 * `Ready=False` when the KafkaTopic `desired` already exists for someone else
 * (another live pool, or not made by this operator); a topic this pool owns,
 * or one an earlier pool left behind, is fine.
 */
export async function topicOwnedElsewhere(
  context: ReconcileContext,
  { pool, desired }: { pool: JobWorkerPool; desired: KubeObject },
  signal: AbortSignal,
): Promise<ConditionState | undefined> {
  const type = resourceTypeOf(desired, APPLIED_TYPES);
  if (!type) return undefined;
  const where = `${desired.metadata.namespace}/${desired.metadata.name}`;
  const cached = context.cache?.(type, where);
  if (cached && cached.metadata.labels?.[LABELS.poolUid] === pool.metadata.uid) return undefined;
  let existing: KubeObject | undefined;
  try {
    existing = await context.client.get(type, {
      namespace: desired.metadata.namespace ?? "",
      name: desired.metadata.name ?? "",
    }, signal);
  } catch (error) {
    if (isResourceNotServed(error)) return undefined;
    throw error;
  }
  const labels = existing?.metadata.labels ?? {};
  if (!existing || labels[LABELS.poolUid] === pool.metadata.uid) return undefined;
  if (await isOrphan(context, existing, signal)) return undefined;
  const by = labels[LABELS.poolNamespace]
    ? `JobWorkerPool ${labels[LABELS.poolNamespace]}/${labels[LABELS.poolName]}`
    : "something other than this operator";
  return {
    status: "False",
    reason: REASONS.topicOwnedByAnotherPool,
    message: `KafkaTopic ${where} already exists and belongs to ${by}: give this ` +
      "pool its own spec.kafka.topic.name, or set spec.topicProvisioning.mode to none " +
      "to share the existing topic",
  };
}

/**
 * Whether a KafkaTopic made for a pool outlived it (deletionPolicy Retain):
 * its labels name a pool that no longer exists, or one with another uid.
 * Topics without jobpool labels are never orphans.
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
  if (!namespace || !name || !uid) return false;
  const owner = await context.client.get(POOL_RESOURCE, { namespace, name }, signal);
  return owner?.metadata.uid !== uid;
}
