/**
 * The scaler step: KEDA's TriggerAuthentication and ScaledObject applied (or
 * deleted with `scaling.mode: none`), and `ScalerReady` from KEDA's answer.
 *
 * @module
 */

import type { JobWorkerPool } from "../api/mod.ts";
import { scalerName, triggerAuthenticationName } from "../synth/names.ts";
import { RESOURCES } from "../runtime/resources.ts";
import { applyObject } from "./apply.ts";
import { REASONS } from "./conditions.ts";
import type { ReconcileContext } from "./context.ts";
import type { SynthesizedObjects } from "./desired.ts";
import { type ScaledObjectStatusView, scalerFromKeda } from "./keda_status.ts";
import { notServedState } from "./not_served.ts";
import type { StepOutcome } from "./outcome.ts";
import { deleteOwned } from "./owned.ts";

/** `ScalerReady`, and whether a scaler runs the Deployment's replicas. */
export interface ScalerOutcome extends StepOutcome {
  /** Whether KEDA scales the workers (false: KEDA is missing, or `scaling.mode: none`). */
  scales: boolean;
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
  { pool, objects }: { pool: JobWorkerPool; objects: SynthesizedObjects },
  signal: AbortSignal,
): Promise<ScalerOutcome> {
  const authName = triggerAuthenticationName(pool);
  if (!objects.scaledObject) {
    await deleteOwned(context, pool, RESOURCES.scaledObjects, scalerName(pool), signal);
    await deleteOwned(context, pool, RESOURCES.triggerAuthentications, authName, signal);
    return {
      scales: false,
      condition: {
        status: "True",
        reason: REASONS.scalerNotManaged,
        message: "No scaler (spec.scaling.mode is none): the workers run a fixed " +
          `${pool.spec.replicas.min} replica(s)`,
      },
    };
  }
  const auth = objects.triggerAuthentication
    ? await applyObject(context, objects.triggerAuthentication, {}, signal)
    : undefined;
  if (auth?.kind === "refused") {
    return { scales: true, condition: applyFailed, blocker: auth.blocker };
  }
  const scaled = auth?.kind === "notServed"
    ? auth
    : await applyObject(context, objects.scaledObject, {}, signal);
  if (scaled.kind === "refused") {
    return { scales: true, condition: applyFailed, blocker: scaled.blocker };
  }
  if (scaled.kind === "notServed") {
    return {
      scales: false,
      condition: await notServedState(context, {
        type: RESOURCES.scaledObjects,
        missing: "KEDA's ScaledObject CRD (scaledobjects.keda.sh) is not installed, so the " +
          `workers run a fixed ${fixedReplicas(pool)} replica(s) (spec.replicas.min, at least ` +
          "one): install KEDA to scale on consumer lag",
        otherVersions: () =>
          "jobpool writes keda.sh/v1alpha1 (KEDA 2.x): install a KEDA 2.x release; meanwhile " +
          `the workers run a fixed ${fixedReplicas(pool)} replica(s)`,
      }, signal),
    };
  }
  if (!objects.triggerAuthentication) {
    await deleteOwned(context, pool, RESOURCES.triggerAuthentications, authName, signal);
  }
  const { object } = scaled;
  return {
    scales: true,
    condition: scalerFromKeda(
      object.metadata.name ?? "",
      object["status"] as ScaledObjectStatusView | undefined,
    ),
  };
}

const applyFailed = {
  status: "False",
  reason: REASONS.applyFailed,
  message: "See the Ready condition",
} as const;
