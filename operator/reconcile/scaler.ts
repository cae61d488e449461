/**
 * The KEDA side of the workers: the TriggerAuthentication and ScaledObject,
 * `ScalerReady` from KEDA's answer, and the fixed replica count used when
 * KEDA is not installed.
 *
 * @module
 */

import type { JobWorkerPool } from "../api/mod.ts";
import { scalerName, triggerAuthenticationName } from "../synth/names.ts";
import { isResourceNotServed } from "../runtime/kube_client.ts";
import { RESOURCES, type ResourceType } from "../runtime/resources.ts";
import type { KubeObject } from "../runtime/object.ts";
import type { Applier } from "./apply.ts";
import { type ConditionState, REASONS } from "./conditions.ts";
import { type ScaledObjectStatusView, scalerFromKeda } from "./keda_status.ts";
import { notServedState } from "./not_served.ts";
import type { ReconcileContext } from "./context.ts";
import type { SynthesizedObjects } from "./synthesis.ts";

/** What {@linkcode applyScaler} needs besides the context. */
export interface ScalerInput {
  /** The pool. */
  pool: JobWorkerPool;
  /** Its generated objects (the KEDA ones are applied). */
  objects: SynthesizedObjects;
  /** Applies one object. */
  apply: Applier;
}

/** `ScalerReady`, and whether KEDA's CRDs are missing (so nothing scales the workers). */
export interface ScalerOutcome {
  /** The condition. */
  scaler: ConditionState;
  /** KEDA is not installed. */
  kedaMissing: boolean;
}

/**
 * Replicas of the Deployment when nothing scales it: with `scaling.mode: none`
 * `replicas.min` (which equals `replicas.max`); when KEDA is missing
 * `replicas.min`, at least one (nothing would wake a pool from zero).
 */
export function fixedReplicas(pool: JobWorkerPool): number {
  const { min } = pool.spec.replicas;
  return pool.spec.scaling.mode === "none" ? min : Math.max(1, min);
}

/**
 * Applies the TriggerAuthentication (if any) and the ScaledObject, and deletes
 * a TriggerAuthentication the pool no longer needs; with `scaling.mode: none`
 * deletes both.
 */
export async function applyScaler(
  context: ReconcileContext,
  { pool, objects, apply }: ScalerInput,
  signal: AbortSignal,
): Promise<ScalerOutcome> {
  if (!objects.scaledObject) {
    await deleteOwned(context, pool, RESOURCES.scaledObjects, scalerName(pool), signal);
    await deleteOwned(
      context,
      pool,
      RESOURCES.triggerAuthentications,
      triggerAuthenticationName(pool),
      signal,
    );
    return {
      kedaMissing: false,
      scaler: {
        status: "True",
        reason: REASONS.scalerNotManaged,
        message: "No scaler (spec.scaling.mode is none): the workers run a fixed " +
          `${pool.spec.replicas.min} replica(s)`,
      },
    };
  }
  const auth = objects.triggerAuthentication
    ? await apply(objects.triggerAuthentication)
    : undefined;
  const scaled = auth === "notServed" ? "notServed" : await apply(objects.scaledObject);
  const kedaMissing = scaled === "notServed";
  const scaler = kedaMissing
    ? await notServedState(context, {
      type: RESOURCES.scaledObjects,
      missing: kedaMissingMessage(pool),
      otherVersions: () =>
        "jobpool writes keda.sh/v1alpha1 (KEDA 2.x): install a KEDA 2.x release; meanwhile the " +
        `workers run a fixed ${fixedReplicas(pool)} replica(s)`,
    }, signal)
    : scalerCondition(scaled);
  if (!objects.triggerAuthentication && !kedaMissing) {
    await deleteOwned(
      context,
      pool,
      RESOURCES.triggerAuthentications,
      triggerAuthenticationName(pool),
      signal,
    );
  }
  return { scaler, kedaMissing };
}

function kedaMissingMessage(pool: JobWorkerPool): string {
  return "KEDA's ScaledObject CRD (scaledobjects.keda.sh) is not installed, so the " +
    `workers run a fixed ${fixedReplicas(pool)} replica(s) (spec.replicas.min, at least ` +
    "one): install KEDA to scale on consumer lag";
}

/** `ScalerReady` from the applied ScaledObject (`undefined` when applying it blocked). */
function scalerCondition(scaled: KubeObject | undefined): ConditionState {
  if (scaled === undefined) {
    return { status: "False", reason: REASONS.applyFailed, message: "See the Ready condition" };
  }
  return scalerFromKeda(scaled.metadata.name ?? "", scaled["status"] as ScaledObjectStatusView);
}

/** Deletes the pool's `type` object `name` when the pool owns it (the cache says when it is gone). */
async function deleteOwned(
  context: ReconcileContext,
  pool: JobWorkerPool,
  type: ResourceType,
  name: string,
  signal: AbortSignal,
): Promise<void> {
  const { client, cache } = context;
  const key = { namespace: pool.metadata.namespace ?? "", name };
  if (cache && !cache(type, `${key.namespace}/${key.name}`)) return;
  try {
    const existing = await client.get(type, key, signal);
    const owned = existing?.metadata.ownerReferences?.some((r) => r.uid === pool.metadata.uid);
    if (owned) await client.delete(type, key, signal);
  } catch (error) {
    if (!isResourceNotServed(error)) throw error;
  }
}
