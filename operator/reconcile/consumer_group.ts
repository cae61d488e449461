/**
 * Consumer-group ownership. Kafka consumer groups are cluster-wide, so pools
 * claim a group on a Kafka cluster, whatever their namespace: when several
 * pools on one cluster claim one group, the one already running it keeps it
 * (else the oldest, by creationTimestamp, then namespace and name) and the
 * others are in conflict.
 *
 * Two pools are on the same Kafka cluster when they share a bootstrap server
 * (`host:port`, case-insensitive) or name the same Strimzi cluster.
 *
 * @module
 */

import { consumerGroupOf, type JobWorkerPool } from "../api/mod.ts";
import { kafkaTopicNamespace } from "../synth/names.ts";
import { REASONS } from "./conditions.ts";

/** Whether `a` and `b` consume from the same Kafka cluster. */
export function sameKafkaCluster(a: JobWorkerPool, b: JobWorkerPool): boolean {
  const servers = new Set(a.spec.kafka.bootstrapServers.map((s) => s.toLowerCase()));
  if (b.spec.kafka.bootstrapServers.some((s) => servers.has(s.toLowerCase()))) return true;
  const strimzi = (p: JobWorkerPool) =>
    p.spec.topicProvisioning.mode === "strimzi" && p.spec.topicProvisioning.strimzi
      ? `${kafkaTopicNamespace(p)}/${p.spec.topicProvisioning.strimzi.clusterName}`
      : undefined;
  const cluster = strimzi(a);
  return cluster !== undefined && cluster === strimzi(b);
}

/** Whether `a` and `b` are one pool (the uid when both have one, else namespace and name). */
export function samePool(a: JobWorkerPool, b: JobWorkerPool): boolean {
  if (a.metadata.uid && b.metadata.uid) return a.metadata.uid === b.metadata.uid;
  return a.metadata.namespace === b.metadata.namespace && a.metadata.name === b.metadata.name;
}

/** The other pools, in any namespace, that claim `pool`'s consumer group on its Kafka cluster. */
export function sameGroupPools(
  pool: JobWorkerPool,
  others: readonly JobWorkerPool[],
): JobWorkerPool[] {
  const group = consumerGroupOf(pool);
  return others.filter((other) =>
    !samePool(other, pool) && consumerGroupOf(other) === group && sameKafkaCluster(pool, other)
  );
}

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
  const claimants = sameGroupPools(pool, others).filter((o) => !o.metadata.deletionTimestamp);
  const incumbent = (p: JobWorkerPool) =>
    isRecordedOwner(p, group) || (options.runsGroup?.(p, group) ?? false);
  let winner = pool;
  let winnerIncumbent = incumbent(pool);
  for (const other of claimants) {
    const otherIncumbent = incumbent(other);
    if (otherIncumbent !== winnerIncumbent ? otherIncumbent : isOlder(other, winner)) {
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

function isOlder(a: JobWorkerPool, b: JobWorkerPool): boolean {
  const ta = Date.parse(a.metadata.creationTimestamp ?? "") || Infinity;
  const tb = Date.parse(b.metadata.creationTimestamp ?? "") || Infinity;
  if (ta !== tb) return ta < tb;
  const ka = `${a.metadata.namespace}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace}/${b.metadata.name}`;
  return ka < kb;
}
