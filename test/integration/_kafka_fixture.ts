/**
 * Topics and a kafkajs client on the test run's real Kafka broker (from
 * `test/env/services.ts`), for integration tests that set up a topic and
 * write to it themselves.
 *
 * @module
 */

import { Kafka, logLevel, type Message } from "kafkajs";
import { ensureTopic, loadConfig } from "../../src/mod.ts";
import { createIdempotentProducer } from "../../src/kafka/mod.ts";
import { kafkaBrokers } from "../env/services.ts";

/** Creates each topic of `partitions` (name → partition count) on the test broker. */
export async function createTopics(partitions: Record<string, number>): Promise<void> {
  const kafka = loadConfig({ KAFKA_BROKERS: kafkaBrokers().join(",") }).kafka;
  for (const [topic, count] of Object.entries(partitions)) {
    await ensureTopic({ kafka, topic, partitions: count });
  }
}

/** A kafkajs client of the test broker that logs nothing. */
export function testKafka(): Kafka {
  return new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
}

/** Sends `messages` to `topic` in one batch with an idempotent producer of its own. */
export async function sendMessages(
  kafka: Kafka,
  topic: string,
  messages: Message[],
): Promise<void> {
  // Idempotent: a send retried under load must not write a message twice,
  // since the tests count what they read back.
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  try {
    await producer.send({ topic, messages, acks: -1 });
  } finally {
    await producer.disconnect();
  }
}
