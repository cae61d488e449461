/**
 * Creating the job topic (and its dead-letter topic) when missing — what
 * `kafka-topics --create` did by hand.
 *
 * @module
 */

import type { Admin } from "kafkajs";
import type { KafkaConfig } from "../config/mod.ts";
import { delay } from "../async/mod.ts";
import { createKafkaClient } from "../kafka/mod.ts";

/** Options of {@linkcode ensureTopic}. */
export interface EnsureTopicOptions {
  /** The brokers and the default topic. */
  kafka: KafkaConfig;
  /** The topic to create. @default kafka.topic */
  topic?: string;
  /** Partitions of a new topic. @default 10 */
  partitions?: number;
  /** Replicas of each partition. @default 1 */
  replicationFactor?: number;
  /** Topic-level configs, e.g. `{ "retention.ms": "604800000" }`. */
  configs?: Record<string, string>;
  /** How long to wait for every new partition to get a leader. @default 30000 */
  timeoutMs?: number;
  /** Stops waiting for leaders: `ensureTopic` rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Creates the topic when it does not exist; leaves an existing one as it is.
 * Resolves to `true` when it created the topic.
 */
export async function ensureTopic(options: EnsureTopicOptions): Promise<boolean> {
  const topic = options.topic ?? options.kafka.topic;
  const admin = createKafkaClient(options.kafka, { clientId: `${options.kafka.clientId}-admin` })
    .admin();
  await admin.connect();
  try {
    const existing = await admin.listTopics();
    if (existing.includes(topic)) return false;
    const created = await admin.createTopics({
      // Leaders are awaited below: kafkajs's own wait gives up on the
      // UNKNOWN_TOPIC_OR_PARTITION answers Kafka 4 sends while it places them.
      waitForLeaders: false,
      topics: [{
        topic,
        numPartitions: options.partitions ?? 10,
        replicationFactor: options.replicationFactor ?? 1,
        configEntries: Object.entries(options.configs ?? {}).map(([name, value]) => ({
          name,
          value,
        })),
      }],
    });
    await waitForLeaders(admin, topic, {
      timeoutMs: options.timeoutMs ?? 30_000,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return created;
  } finally {
    await admin.disconnect();
  }
}

/** Polls the topic's metadata until every partition has a leader. */
async function waitForLeaders(
  admin: Admin,
  topic: string,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<void> {
  const { timeoutMs, signal } = options;
  const deadline = Date.now() + timeoutMs;
  let last = "no metadata yet";
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      const partitions = metadata.topics[0]?.partitions ?? [];
      const leaderless = partitions.filter((partition) => partition.leader < 0).length;
      if (partitions.length > 0 && leaderless === 0) return;
      last = `${leaderless} of ${partitions.length} partitions have no leader`;
    } catch (error) {
      last = (error as Error).message;
    }
    await delay(100, signal ? { signal } : {});
  }
  throw new Error(
    `Topic "${topic}" was created but its partitions got no leader within ${timeoutMs} ms ` +
      `(${last}): check the brokers' health`,
  );
}
