/**
 * Server-side apply of one generated object, returning what came of it: the
 * applied object, a kind the API server does not serve (its CRD is missing),
 * or a refusal a person must fix (a rejected object, missing RBAC, a missing
 * topic namespace) as a condition. Transient errors throw, for the work
 * queue to retry with backoff.
 *
 * @module
 */

import { isApiError, isResourceNotServed, KubeApiError } from "../runtime/kube_client.ts";
import type { KubeObject, Manifest } from "../runtime/object.ts";
import { RESOURCES, type ResourceType, resourceTypeOf } from "../runtime/resources.ts";
import { type ConditionState, REASONS } from "./conditions.ts";
import type { ReconcileContext } from "./context.ts";

/** The kinds the operator applies. */
export const APPLIED_TYPES: readonly ResourceType[] = [
  RESOURCES.deployments,
  RESOURCES.scaledObjects,
  RESOURCES.triggerAuthentications,
  RESOURCES.kafkaTopicsV1,
  RESOURCES.kafkaTopicsV1beta2,
];

/** What applying one object came to. */
export type Applied =
  | { kind: "applied"; object: KubeObject }
  | { kind: "notServed"; type: ResourceType }
  | { kind: "refused"; blocker: ConditionState };

/** Options of {@linkcode applyObject}. */
export interface ApplyObjectOptions {
  /**
   * Fields set only when the object is created (by a create before the
   * apply), e.g. a Deployment's `spec.replicas`: server-side apply then never
   * owns them, and whoever changes them later (an HPA) keeps them.
   */
  onCreate?: (object: Manifest) => Manifest;
}

/** The resource type of `object`, one the operator applies. */
export function appliedTypeOf(object: Manifest): ResourceType {
  const type = resourceTypeOf(object, APPLIED_TYPES);
  if (!type) {
    throw new TypeError(
      `Cannot apply ${object.apiVersion}/${object.kind}: the operator does not know this kind`,
    );
  }
  return type;
}

/** Applies `object` under the operator's field manager (creating it first with `onCreate`). */
export async function applyObject(
  context: ReconcileContext,
  object: Manifest,
  options: ApplyObjectOptions,
  signal: AbortSignal,
): Promise<Applied> {
  const type = appliedTypeOf(object);
  try {
    if (options.onCreate) await createIfMissing(context, type, options.onCreate(object), signal);
    return { kind: "applied", object: await context.client.apply(type, object, { signal }) };
  } catch (error) {
    if (isResourceNotServed(error)) return { kind: "notServed", type };
    const blocker = refusal(error, object);
    if (blocker) return { kind: "refused", blocker };
    throw error;
  }
}

async function createIfMissing(
  context: ReconcileContext,
  type: ResourceType,
  object: Manifest,
  signal: AbortSignal,
): Promise<void> {
  const key = { namespace: object.metadata.namespace ?? "", name: object.metadata.name };
  // With a cache, a miss is worth a create (a 409 says the cache lagged); without one, a read.
  const exists = context.cache
    ? context.cache(type, `${key.namespace}/${key.name}`)
    : await context.client.get(type, key, signal);
  if (exists) return;
  try {
    await context.client.create(type, object, signal);
  } catch (error) {
    if (!isApiError(error, 409)) throw error; // Created meanwhile: applying it is enough.
  }
}

/** A condition for errors a person must fix; `undefined` for transient ones. */
function refusal(error: unknown, object: Manifest): ConditionState | undefined {
  if (!(error instanceof KubeApiError)) return undefined;
  const what = `${object.kind} ${object.metadata.namespace}/${object.metadata.name}`;
  if (error.code === 422 || error.code === 400) {
    return {
      status: "False",
      reason: REASONS.generatedObjectRejected,
      message: `The API server rejected the generated ${what}: ${error.message}; ` +
        "fix the pool's spec accordingly",
    };
  }
  if (error.code === 403) {
    return {
      status: "False",
      reason: REASONS.forbidden,
      message: `The operator may not apply ${what}: ${error.message}; grant its ` +
        "ServiceAccount the RBAC permissions from the operator's ClusterRole",
    };
  }
  if (isApiError(error, 404) && object.kind === "KafkaTopic") {
    return {
      status: "False",
      reason: REASONS.topicNamespaceNotFound,
      message: `Cannot create ${what}: namespace ${object.metadata.namespace} does not exist; ` +
        "set spec.topicProvisioning.strimzi.namespace to the Kafka cluster's namespace",
    };
  }
  return undefined;
}
