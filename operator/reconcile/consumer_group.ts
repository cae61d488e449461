/**
 * Consumer-group ownership within a namespace: when several pools claim one
 * group, the one already running it keeps it (else the oldest, by
 * creationTimestamp, then name) and the others are in conflict.
 *
 * @module
 */

import { consumerGroupOf, type JobWorkerPool } from "../api/mod.ts";
import { REASONS } from "./conditions.ts";

/**
 * The pool that owns `pool`'s consumer group, when it is another one. The
 * incumbent wins: a pool already running the group (its status records the
 * group outside a conflict, or `runsGroup` says its Deployment runs it), so a
 * newer pool never takes a group away from workers that consume it. Among
 * incumbents, or when there is none, the oldest wins.
 */
export function consumerGroupWinner(
  pool: JobWorkerPool,
  others: readonly JobWorkerPool[],
  options: { runsGroup?: (pool: JobWorkerPool, group: string) => boolean } = {},
): JobWorkerPool | undefined {
  const group = consumerGroupOf(pool);
  const namespace = pool.metadata.namespace;
  const claimants = others.filter((other) =>
    other.metadata.namespace === namespace &&
    other.metadata.name !== pool.metadata.name &&
    !other.metadata.deletionTimestamp &&
    consumerGroupOf(other) === group
  );
  const incumbent = (p: JobWorkerPool) =>
    isRecordedOwner(p, group) || (options.runsGroup?.(p, group) ?? false);
  let winner = pool;
  let winnerIncumbent = incumbent(pool);
  for (const other of claimants) {
    const otherIncumbent = incumbent(other);
    if (
      otherIncumbent !== winnerIncumbent ? otherIncumbent : isOlder(other, winner)
    ) {
      winner = other;
      winnerIncumbent = otherIncumbent;
    }
  }
  return winner === pool ? undefined : winner;
}

/** Whether `pool`'s status says it runs `group` (and it is not blocked by a group conflict). */
function isRecordedOwner(pool: JobWorkerPool, group: string): boolean {
  const ready = pool.status?.conditions?.find((c) => c.type === "Ready");
  return pool.status?.consumerGroup === group && ready?.reason !== REASONS.consumerGroupConflict;
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
