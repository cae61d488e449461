/**
 * A consumer group's lag per partition — what `kafka-consumer-groups
 * --describe` shows — for the `lag` CLI and the worker's lag gauge.
 *
 * @module
 */

import type { Admin } from "kafkajs";

/** One partition's position of a group. */
export interface PartitionLag {
  /** The topic. */
  topic: string;
  /** The partition. */
  partition: number;
  /** The group's committed offset; `null` when it has committed none yet. */
  currentOffset: number | null;
  /** The oldest offset still in the log. */
  logStartOffset: number;
  /** The offset the next message will get. */
  logEndOffset: number;
  /**
   * Messages not yet committed. Without a committed offset the group starts
   * at the log start (jobpool's default `KAFKA_OFFSET_RESET=earliest`), so
   * every retained message counts.
   */
  lag: number;
}

/** A group's lag over one topic. */
export interface GroupLag {
  /** The consumer group. */
  group: string;
  /** The topic. */
  topic: string;
  /** By partition number, ascending. */
  partitions: PartitionLag[];
  /** The sum of every partition's lag. */
  total: number;
}

/** The admin calls {@linkcode fetchGroupLag} needs (a connected kafkajs admin fits). */
export type LagAdmin = Pick<Admin, "fetchOffsets" | "fetchTopicOffsets">;

/** Reads the group's committed offsets and the topic's log ends, and subtracts. */
export async function fetchGroupLag(
  admin: LagAdmin,
  group: string,
  topic: string,
): Promise<GroupLag> {
  const [ends, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId: group, topics: [topic] }),
  ]);
  const committedByPartition = new Map<number, number>();
  for (const entry of committed.find((item) => item.topic === topic)?.partitions ?? []) {
    const offset = Number(entry.offset);
    // kafkajs reports "-1" for a partition the group never committed.
    if (offset >= 0) committedByPartition.set(entry.partition, offset);
  }
  const partitions = ends
    .map(({ partition, low, high }): PartitionLag => {
      const logStartOffset = Number(low);
      const logEndOffset = Number(high);
      const currentOffset = committedByPartition.get(partition) ?? null;
      // A committed offset below the log start (retention removed messages)
      // resumes at the log start, so those messages are not lag any more.
      const from = Math.max(currentOffset ?? logStartOffset, logStartOffset);
      return {
        topic,
        partition,
        currentOffset,
        logStartOffset,
        logEndOffset,
        lag: Math.max(0, logEndOffset - from),
      };
    })
    .sort((a, b) => a.partition - b.partition);
  return {
    group,
    topic,
    partitions,
    total: partitions.reduce((sum, entry) => sum + entry.lag, 0),
  };
}
