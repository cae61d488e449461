/**
 * Creating the job topic (and its dead-letter topic) when missing — what
 * `kafka-topics --create` did by hand.
 *
 * @module
 */

import type { KafkaConfig } from "../config/mod.ts";
import { createKafkaClient } from "../kafka/client.ts";

/** Options of {@linkcode ensureTopic}. */
export interface EnsureTopicOptions {
  kafka: KafkaConfig;
  /** The topic to create. @default kafka.topic */
  topic?: string;
  /** @default 10 */
  partitions?: number;
  /** @default 1 */
  replicationFactor?: number;
  /** Topic-level configs, e.g. `{ "retention.ms": "604800000" }`. */
  configs?: Record<string, string>;
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
    return await admin.createTopics({
      waitForLeaders: true,
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
  } finally {
    await admin.disconnect();
  }
}
