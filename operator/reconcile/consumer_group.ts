/**
 * Consumer-group ownership within a namespace: when several pools claim one
 * group, the oldest (by creationTimestamp, then name) keeps it and the others
 * are in conflict.
 *
 * @module
 */

import { consumerGroupOf, type JobWorkerPool } from "../api/mod.ts";
import { REASONS } from "./conditions.ts";

/** The pool that owns `pool`'s consumer group, when it is another one. */
export function consumerGroupWinner(
  pool: JobWorkerPool,
  others: readonly JobWorkerPool[],
): JobWorkerPool | undefined {
  const group = consumerGroupOf(pool);
  const namespace = pool.metadata.namespace;
  const claimants = others.filter((other) =>
    other.metadata.namespace === namespace &&
    other.metadata.name !== pool.metadata.name &&
    !other.metadata.deletionTimestamp &&
    consumerGroupOf(other) === group
  );
  let winner = pool;
  for (const other of claimants) if (isOlder(other, winner)) winner = other;
  return winner === pool ? undefined : winner;
}

/** The other pools in `pool`'s namespace that claim its consumer group. */
export function sameGroupPools(
  pool: JobWorkerPool,
  others: readonly JobWorkerPool[],
): JobWorkerPool[] {
  const group = consumerGroupOf(pool);
  return others.filter((other) =>
    other.metadata.namespace === pool.metadata.namespace &&
    other.metadata.name !== pool.metadata.name && consumerGroupOf(other) === group
  );
}

/**
 * The pools to reconcile again when `pool` changes: those claiming its group,
 * and every pool in its namespace blocked by a consumer-group conflict (the
 * change may have freed the group that pool wants, e.g. a renamed group).
 */
export function poolsToWake(
  pool: JobWorkerPool,
  others: readonly JobWorkerPool[],
): JobWorkerPool[] {
  const same = sameGroupPools(pool, others);
  const conflicted = others.filter((other) =>
    other.metadata.namespace === pool.metadata.namespace &&
    other.metadata.name !== pool.metadata.name && !same.includes(other) &&
    other.status?.conditions?.some((c) =>
      c.type === "Ready" && c.reason === REASONS.consumerGroupConflict
    )
  );
  return [...same, ...conflicted];
}

function isOlder(a: JobWorkerPool, b: JobWorkerPool): boolean {
  const ta = Date.parse(a.metadata.creationTimestamp ?? "") || Infinity;
  const tb = Date.parse(b.metadata.creationTimestamp ?? "") || Infinity;
  if (ta !== tb) return ta < tb;
  return a.metadata.name < b.metadata.name;
}
