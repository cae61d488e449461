/**
 * The KEDA side of the workers: the TriggerAuthentication and ScaledObject,
 * `ScalerReady` from KEDA's answer, and the fixed replica count used when
 * KEDA is not installed.
 *
 * @module
 */

import type { JobWorkerPool } from "../api/mod.ts";
import { triggerAuthenticationName } from "../synth/names.ts";
import { isResourceNotServed } from "../runtime/kube_client.ts";
import { type KubeObject, RESOURCES } from "../runtime/resources.ts";
import type { Applier } from "./apply.ts";
import { type ConditionState, fromForeignReady, REASONS } from "./conditions.ts";
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
  /** Notes for the Ready message (appended to). */
  notes: string[];
}

/** `ScalerReady`, and whether KEDA's CRDs are missing (so nothing scales the workers). */
export interface ScalerOutcome {
  /** The condition. */
  scaler: ConditionState;
  /** KEDA is not installed. */
  kedaMissing: boolean;
}

/** Replicas of the Deployment when nothing scales it: `replicas.min`, at least one. */
export function fixedReplicas(pool: JobWorkerPool): number {
  return Math.max(1, pool.spec.replicas.min);
}

/**
 * Applies the TriggerAuthentication (if any) and the ScaledObject, and deletes
 * a TriggerAuthentication the pool no longer needs.
 */
export async function applyScaler(
  context: ReconcileContext,
  { pool, objects, apply, notes }: ScalerInput,
  signal: AbortSignal,
): Promise<ScalerOutcome> {
  const auth = objects.triggerAuthentication
    ? await apply(objects.triggerAuthentication)
    : undefined;
  const scaled = auth === "notServed" ? "notServed" : await apply(objects.scaledObject);
  const kedaMissing = scaled === "notServed";
  if (kedaMissing) notes.push(`KEDA is not installed: running ${fixedReplicas(pool)} replica(s)`);
  const scaler = scaled === "notServed" ? kedaMissingState(pool) : scalerCondition(scaled);
  if (!objects.triggerAuthentication && !kedaMissing) await deleteStaleAuth(context, pool, signal);
  return { scaler, kedaMissing };
}

function kedaMissingState(pool: JobWorkerPool): ConditionState {
  return {
    status: "False",
    reason: REASONS.crdNotInstalled,
    message: "KEDA's ScaledObject CRD (scaledobjects.keda.sh) is not installed, so the " +
      `workers run a fixed ${fixedReplicas(pool)} replica(s) (spec.replicas.min, at least ` +
      "one): install KEDA to scale on consumer lag",
  };
}

/** `ScalerReady` from the applied ScaledObject (`undefined` when applying it blocked). */
function scalerCondition(scaled: KubeObject | undefined): ConditionState {
  if (scaled === undefined) {
    return { status: "False", reason: REASONS.applyFailed, message: "See the Ready condition" };
  }
  return fromForeignReady(scaled["status"] as never, {
    readyReason: REASONS.scalerReady,
    notReadyReason: REASONS.scalerNotReady,
    what: `ScaledObject ${scaled.metadata.name}`,
    missing: {
      status: "Unknown",
      reason: REASONS.waitingForKeda,
      message: `ScaledObject ${scaled.metadata.name} is applied; waiting for KEDA to report ` +
        "on it",
    },
  });
}

/** Deletes the pool's TriggerAuthentication when it owns one (no SASL or TLS CA any more). */
async function deleteStaleAuth(
  context: ReconcileContext,
  pool: JobWorkerPool,
  signal: AbortSignal,
): Promise<void> {
  const { client, cache } = context;
  const key = { namespace: pool.metadata.namespace ?? "", name: triggerAuthenticationName(pool) };
  if (cache && !cache(RESOURCES.triggerAuthentications, `${key.namespace}/${key.name}`)) return;
  try {
    const existing = await client.get(RESOURCES.triggerAuthentications, key, signal);
    const owned = existing?.metadata.ownerReferences?.some((r) => r.uid === pool.metadata.uid);
    if (owned) await client.delete(RESOURCES.triggerAuthentications, key, signal);
  } catch (error) {
    if (!isResourceNotServed(error)) throw error;
  }
}
