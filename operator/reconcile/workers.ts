/**
 * The workers step: the Deployment applied after the scaler. Its
 * `spec.replicas` is set when the Deployment is created (`replicas.min`, so a
 * pool that may idle at zero never starts a pod before KEDA looks at the lag)
 * and afterwards only where nothing scales it: without KEDA, or with
 * `scaling.mode: none`. Server-side apply never carries it, so the HPA that
 * KEDA creates owns it once it scales (ADR 8). A pool that lost its consumer
 * group has its workers stopped instead.
 *
 * @module
 */

import type { JobWorkerPool } from "../api/mod.ts";
import { scalerName, workerName } from "../synth/names.ts";
import type { KubeObject, Manifest } from "../runtime/object.ts";
import { RESOURCES } from "../runtime/resources.ts";
import { applyObject } from "./apply.ts";
import type { ConditionState, DeploymentStatusView } from "./conditions.ts";
import type { ReconcileContext } from "./context.ts";
import type { DeploymentView } from "./outcome.ts";
import { deleteOwned } from "./owned.ts";

/** The applied Deployment, or the problem a person must fix. */
export interface WorkersOutcome {
  /** The applied Deployment; none when applying it was refused. */
  deployment: DeploymentView | undefined;
  /** Why it was refused. */
  blocker?: ConditionState | undefined;
}

/** Applies the worker Deployment; with `fixedReplicas`, keeps that count. */
export async function applyWorkers(
  context: ReconcileContext,
  input: { pool: JobWorkerPool; deployment: Manifest; fixedReplicas: number | undefined },
  signal: AbortSignal,
): Promise<WorkersOutcome> {
  const { pool, deployment, fixedReplicas } = input;
  const initial = fixedReplicas ?? pool.spec.replicas.min;
  const applied = await applyObject(context, deployment, {
    onCreate: (d) => ({ ...d, spec: { ...(d["spec"] as object), replicas: initial } }),
  }, signal);
  if (applied.kind === "refused") return { deployment: undefined, blocker: applied.blocker };
  if (applied.kind === "notServed") throw new Error("apps/v1 Deployments are not served");
  let object: KubeObject = applied.object;
  if (fixedReplicas !== undefined && replicasOf(object) !== fixedReplicas) {
    object = await context.client.mergePatch(
      RESOURCES.deployments,
      {
        namespace: object.metadata.namespace ?? "",
        name: object.metadata.name ?? "",
      },
      { spec: { replicas: fixedReplicas } },
      signal,
    );
  }
  return {
    deployment: {
      name: object.metadata.name ?? "",
      status: object["status"] as DeploymentStatusView | undefined,
    },
  };
}

/** Deletes the pool's ScaledObject and worker Deployment (those it owns), with Events. */
export async function stopWorkers(
  context: ReconcileContext,
  pool: JobWorkerPool,
  signal: AbortSignal,
): Promise<void> {
  const namespace = pool.metadata.namespace ?? "";
  for (
    const [type, name] of [
      [RESOURCES.scaledObjects, scalerName(pool)],
      [RESOURCES.deployments, workerName(pool)],
    ] as const
  ) {
    const deleted = await deleteOwned(context, pool, type, name, signal);
    if (!deleted) continue;
    await context.events.record(pool, {
      type: "Warning",
      reason: "WorkersStopped",
      message: `Deleted ${deleted.kind} ${namespace}/${name}: its consumer group belongs to ` +
        "another pool",
    });
  }
}

function replicasOf(deployment: KubeObject): number | undefined {
  return (deployment["spec"] as { replicas?: number } | undefined)?.replicas;
}
