/**
 * The workers branch of applying a pool: KEDA's objects first, then the
 * Deployment, with a fixed replica count when KEDA is not installed.
 *
 * @module
 */

import type { JobWorkerPool } from "../api/mod.ts";
import type { KubeObject } from "../runtime/resources.ts";
import type { Applier } from "./apply.ts";
import type { ConditionState } from "./conditions.ts";
import type { ReconcileContext } from "./context.ts";
import { applyScaler, fixedReplicas } from "./scaler.ts";
import type { DeploymentView } from "./status.ts";
import type { Synthesize, SynthesizedObjects } from "./synthesis.ts";

/** What {@linkcode applyWorkers} needs besides the context. */
export interface WorkersInput {
  /** The pool. */
  pool: JobWorkerPool;
  /** Its generated objects. */
  objects: SynthesizedObjects;
  /** Builds the fixed-replica Deployment when KEDA is missing. */
  synthesize: Synthesize;
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

/** TriggerAuthentication and ScaledObject, then the Deployment (fixed replicas without KEDA). */
export async function applyWorkers(
  context: ReconcileContext,
  input: WorkersInput,
  signal: AbortSignal,
): Promise<WorkersOutcome> {
  const { pool, objects, synthesize, apply } = input;
  const { scaler, kedaMissing } = await applyScaler(context, input, signal);
  const deployment = kedaMissing ? fixedReplicaDeployment(synthesize, pool) : objects.deployment;
  const applied = await apply(deployment);
  const deploymentView = applied && applied !== "notServed"
    ? { name: applied.metadata.name ?? "", status: applied["status"] as never }
    : undefined;
  return { scaler, deploymentView };
}

/** The Deployment with a fixed replica count; set here when the synthesizer leaves it out. */
function fixedReplicaDeployment(synthesize: Synthesize, pool: JobWorkerPool): object {
  const deployment = structuredClone(
    synthesize(pool, { kedaOwnsReplicas: false }).deployment,
  ) as KubeObject;
  const spec = (deployment["spec"] ??= {}) as Record<string, unknown>;
  spec["replicas"] ??= fixedReplicas(pool);
  return deployment;
}
