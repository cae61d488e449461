/**
 * Writing a pool's status, last: computed from the reconcile's outcome and
 * applied through `/status` only when it says something new (level-based, so
 * an unchanged status causes no write and no watch event).
 *
 * @module
 */

import { consumerGroupOf, type JobWorkerPool, type JobWorkerPoolStatus, KIND } from "../api/mod.ts";
import type { KubeClient } from "../runtime/kube_client.ts";
import { apiVersionOf } from "../runtime/resources.ts";
import { computeStatus, type ConditionState } from "./conditions.ts";
import { POOL_RESOURCE } from "../api/mod.ts";

/** The applied worker Deployment's name and (unchecked) status. */
export interface DeploymentView {
  /** Its name. */
  name: string;
  /** Its status as the API server returned it. */
  status: never;
}

/** The outcome of a reconcile that the status reports. */
export interface StatusParts {
  /** Set when a person must act (the Ready condition says why). */
  blocked: ConditionState | undefined;
  /** `TopicReady`. */
  topic: ConditionState;
  /** `ScalerReady`. */
  scaler: ConditionState;
  /** The applied worker Deployment, if any. */
  deployment: DeploymentView | undefined;
}

/** Writes `pool`'s status from `parts`, with `now` as the time of new transitions. */
export async function writeStatus(
  client: KubeClient,
  { pool, now, parts }: { pool: JobWorkerPool; now: string; parts: StatusParts },
  signal: AbortSignal,
): Promise<void> {
  const status: JobWorkerPoolStatus = computeStatus({
    generation: pool.metadata.generation ?? 0,
    previous: pool.status,
    now,
    consumerGroup: consumerGroupOf(pool),
    ...parts,
  });
  // `lag` belongs to the lag monitor (its own field manager), so it is neither written nor compared.
  const { lag: _lag, ...previous } = pool.status ?? {};
  if (pool.status && stableJson(previous) === stableJson(status)) return;
  await client.apply(POOL_RESOURCE, {
    apiVersion: apiVersionOf(POOL_RESOURCE),
    kind: KIND,
    metadata: { name: pool.metadata.name, namespace: pool.metadata.namespace ?? "" },
    status,
  }, { subresource: "status", signal });
}

/** JSON with object keys sorted, for comparing API objects. */
function stableJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
        : v,
  );
}
