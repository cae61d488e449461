/**
 * Writing a pool's status, last: computed from the reconcile's outcome and
 * applied through `/status` only when it says something new (level-based, so
 * an unchanged status causes no write and no watch event).
 *
 * @module
 */

import {
  consumerGroupOf,
  type JobWorkerPool,
  type JobWorkerPoolStatus,
  KIND,
  POOL_RESOURCE,
} from "../api/mod.ts";
import type { KubeClient } from "../runtime/kube_client.ts";
import { apiVersionOf } from "../runtime/resources.ts";
import { computeStatus } from "./conditions.ts";
import type { PoolOutcome } from "./outcome.ts";

/** Writes `pool`'s status from `outcome`, with `now` as the time of new transitions. */
export async function writeStatus(
  client: KubeClient,
  { pool, now, outcome }: { pool: JobWorkerPool; now: string; outcome: PoolOutcome },
  signal: AbortSignal,
): Promise<void> {
  const status: JobWorkerPoolStatus = computeStatus({
    generation: pool.metadata.generation ?? 0,
    previous: pool.status,
    now,
    consumerGroup: consumerGroupOf(pool),
    ...outcome,
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
