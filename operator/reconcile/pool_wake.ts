/**
 * Which other pools a change to one pool concerns: a pool's fate can hang on
 * others (who runs a consumer group, who owns a KafkaTopic), so when one
 * changes or goes, those are reconciled at once instead of at the next resync.
 *
 * @module
 */

import type { JobWorkerPool } from "../api/mod.ts";
import { REASONS } from "./conditions.ts";
import { sameGroupPools, sameKafkaCluster, samePool } from "./consumer_group.ts";

/** Ready reasons that mean "blocked by another pool". */
const BLOCKED_BY_ANOTHER_POOL: readonly string[] = [
  REASONS.consumerGroupConflict,
  REASONS.topicOwnedByAnotherPool,
];

/**
 * The pools to reconcile again when `pool` changes or goes: those claiming
 * its consumer group or its topic on its Kafka cluster (the topic may pass to
 * one of them), and every pool blocked by another pool (the change may have
 * freed what that pool wants, e.g. a renamed group or topic).
 */
export function poolsToWake(
  pool: JobWorkerPool,
  others: readonly JobWorkerPool[],
): JobWorkerPool[] {
  const topic = pool.spec.kafka.topic.name;
  const related = [
    ...sameGroupPools(pool, others),
    ...others.filter((other) =>
      !samePool(other, pool) && other.spec.kafka.topic.name === topic &&
      sameKafkaCluster(pool, other)
    ),
    ...others.filter((other) =>
      !samePool(other, pool) &&
      other.status?.conditions?.some((c) =>
        c.type === "Ready" && BLOCKED_BY_ANOTHER_POOL.includes(c.reason)
      )
    ),
  ];
  return [...new Set(related)];
}
