/**
 * Server-side apply of one generated object, with errors a person must fix
 * (a rejected object, missing RBAC, a missing topic namespace) turned into a
 * blocking condition instead of a throw; transient errors still throw.
 *
 * @module
 */

import { isApiError, isResourceNotServed, KubeApiError } from "../runtime/kube_client.ts";
import { RESOURCES, type ResourceType, resourceTypeOf } from "../runtime/resources.ts";
import type { KubeObject } from "../runtime/object.ts";
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

/** The applied object; `"notServed"` when its CRD is missing; `undefined` when it blocked. */
export type ApplyOutcome = KubeObject | "notServed" | undefined;

/** Options of an {@linkcode Applier}. */
export interface ApplyObjectOptions {
  /**
   * Fields set only when the object is created (by a create before the
   * apply), e.g. a Deployment's `spec.replicas`: server-side apply then never
   * owns them, and whoever changes them later (an HPA) keeps them.
   */
  onCreate?: (object: KubeObject) => KubeObject;
}

/** Applies one object (see {@linkcode blockingApplier}). */
export type Applier = (object: object, options?: ApplyObjectOptions) => Promise<ApplyOutcome>;

/** Where an applier records the first blocking condition it meets. */
export interface BlockerSlot {
  /** The first condition a person must act on. */
  blocker?: ConditionState;
}

/**
 * An {@linkcode Applier} that records the first blocking error in `slot` and
 * returns `undefined` for it; a missing CRD gives `"notServed"`.
 */
export function blockingApplier(
  context: ReconcileContext,
  slot: BlockerSlot,
  signal: AbortSignal,
): Applier {
  return async (object, options = {}) => {
    try {
      return await applyObject(context, object as KubeObject, options, signal);
    } catch (error) {
      if (isResourceNotServed(error)) return "notServed";
      const state = blockingState(error, object as KubeObject);
      if (!state) throw error;
      slot.blocker ??= state;
      return undefined;
    }
  };
}

async function applyObject(
  context: ReconcileContext,
  object: KubeObject,
  options: ApplyObjectOptions,
  signal: AbortSignal,
): Promise<KubeObject> {
  const { client, cache } = context;
  const type = resourceTypeOf(object, APPLIED_TYPES);
  if (!type) {
    throw new TypeError(
      `Cannot apply ${object.apiVersion}/${object.kind}: the operator does not know this kind`,
    );
  }
  if (options.onCreate) {
    const key = { namespace: object.metadata.namespace ?? "", name: object.metadata.name ?? "" };
    const exists = cache?.(type, `${key.namespace}/${key.name}`) ??
      await client.get(type, key, signal);
    if (!exists) {
      try {
        await client.create(type, options.onCreate(structuredClone(object)), signal);
      } catch (error) {
        if (!isApiError(error, 409)) throw error; // Created meanwhile: apply it.
      }
    }
  }
  return await client.apply(type, object, { signal });
}

/** A condition for errors a person must fix; `undefined` for transient ones. */
function blockingState(error: unknown, object: KubeObject): ConditionState | undefined {
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
