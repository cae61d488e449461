/**
 * The workers branch of applying a pool: KEDA's objects first, then the
 * Deployment. Its `spec.replicas` is set when the Deployment is created
 * (`replicas.min`, so a pool that may idle at zero never starts a pod before
 * KEDA looks at the lag) and afterwards only where nothing scales it: without
 * KEDA, or with `scaling.mode: none`. Server-side apply never carries it, so
 * the HPA that KEDA creates owns it once it scales.
 *
 * @module
 */

import type { JobWorkerPool } from "../api/mod.ts";
import { RESOURCES } from "../runtime/resources.ts";
import type { KubeObject } from "../runtime/object.ts";
import type { Applier } from "./apply.ts";
import type { ConditionState } from "./conditions.ts";
import type { ReconcileContext } from "./context.ts";
import { applyScaler, fixedReplicas } from "./scaler.ts";
import type { DeploymentView } from "./status.ts";
import type { SynthesizedObjects } from "./synthesis.ts";

/** What {@linkcode applyWorkers} needs besides the context. */
export interface WorkersInput {
  /** The pool. */
  pool: JobWorkerPool;
  /** Its generated objects. */
  objects: SynthesizedObjects;
  /** Applies one object. */
  apply: Applier;
}

/** `ScalerReady` and the applied Deployment. */
export interface WorkersOutcome {
  /** `ScalerReady`. */
  scaler: ConditionState;
  /** The applied Deployment; none when applying it blocked. */
  deploymentView: DeploymentView | undefined;
}

/** TriggerAuthentication and ScaledObject, then the Deployment with its replicas. */
export async function applyWorkers(
  context: ReconcileContext,
  input: WorkersInput,
  signal: AbortSignal,
): Promise<WorkersOutcome> {
  const { pool, objects, apply } = input;
  const { scaler, kedaMissing } = await applyScaler(context, input, signal);
  const fixed = kedaMissing || !objects.scaledObject ? fixedReplicas(pool) : undefined;
  const initial = fixed ?? pool.spec.replicas.min;
  let applied = await apply(objects.deployment, { onCreate: (d) => withReplicas(d, initial) });
  if (!applied || applied === "notServed") return { scaler, deploymentView: undefined };
  if (fixed !== undefined && replicasOf(applied) !== fixed) {
    applied = await context.client.mergePatch(
      RESOURCES.deployments,
      {
        namespace: applied.metadata.namespace ?? "",
        name: applied.metadata.name ?? "",
      },
      { spec: { replicas: fixed } },
      signal,
    );
  }
  return {
    scaler,
    deploymentView: { name: applied.metadata.name ?? "", status: applied["status"] as never },
  };
}

function withReplicas(deployment: KubeObject, replicas: number): KubeObject {
  return { ...deployment, spec: { ...(deployment["spec"] as object), replicas } };
}

function replicasOf(deployment: KubeObject): number | undefined {
  return (deployment["spec"] as { replicas?: number } | undefined)?.replicas;
}
