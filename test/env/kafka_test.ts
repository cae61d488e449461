/**
 * Proves the Kafka harness and kafkajs 2.2.4 against the real broker: topics,
 * an idempotent producer, a consumer group with commits, and every SASL
 * mechanism of the SASL listener.
 *
 * Run: `deno test --allow-all test/env/kafka_test.ts`
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { Kafka, type KafkaConfig, logLevel, Partitioners } from "kafkajs";
import { KAFKA_VERSION, startKafka } from "./kafka.ts";

const MESSAGES = 100;
const PARTITIONS = 3;

Deno.test({
  name: "kafka harness: kafkajs 2.2.4 produces, consumes and commits on a real broker",
  // kafkajs keeps timers and sockets past disconnect(); they are not ours to police.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const logDir = await Deno.makeTempDir({ prefix: "jobpool-kafka-test-" });
    const started = performance.now();
    const kafka = await startKafka({ logDir });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.error(
      `Kafka ${kafka.version} ready in ${seconds} s on ${kafka.brokers.join(",")} ` +
        `(SASL ${kafka.saslBrokers.join(",")}), log ${kafka.logPath}`,
    );
    let passed = false;
    try {
      assert.equal(kafka.version, KAFKA_VERSION);
      const config: KafkaConfig = {
        clientId: "jobpool-kafka-test",
        brokers: kafka.brokers,
        logLevel: logLevel.ERROR,
      };
      const client = new Kafka(config);
      const topic = `jobpool-harness-${crypto.randomUUID()}`;
      const groupId = `jobpool-harness-group-${crypto.randomUUID()}`;

      await t.step("creates a topic with 3 partitions", async () => {
        const admin = client.admin();
        await admin.connect();
        try {
          const created = await admin.createTopics({
            topics: [{ topic, numPartitions: PARTITIONS }],
            waitForLeaders: true,
          });
          assert.equal(created, true);
          const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
          assert.equal(metadata.topics[0]?.partitions.length, PARTITIONS);
        } finally {
          await admin.disconnect();
        }
      });

      await t.step("produces 100 messages with an idempotent producer (acks -1)", async () => {
        const producer = client.producer({
          idempotent: true,
          maxInFlightRequests: 1,
          createPartitioner: Partitioners.DefaultPartitioner,
        });
        await producer.connect();
        try {
          for (let batch = 0; batch < MESSAGES; batch += 10) {
            const messages = Array.from({ length: 10 }, (_, i) => ({
              key: `key-${batch + i}`,
              value: JSON.stringify({ n: batch + i }),
            }));
            await producer.send({ topic, acks: -1, messages });
          }
        } finally {
          await producer.disconnect();
        }
        const admin = client.admin();
        await admin.connect();
        try {
          const offsets = await admin.fetchTopicOffsets(topic);
          const total = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
          assert.equal(total, MESSAGES);
          // The keys spread the messages over more than one partition.
          assert.ok(offsets.filter((p) => Number(p.high) > 0).length > 1);
        } finally {
          await admin.disconnect();
        }
      });

      await t.step("consumes them in a consumer group and commits offsets", async () => {
        const consumer = client.consumer({ groupId, sessionTimeout: 10_000 });
        await consumer.connect();
        const seen = new Set<number>();
        try {
          await consumer.subscribe({ topics: [topic], fromBeginning: true });
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`Consumed ${seen.size} of ${MESSAGES} messages in 60 s`)),
              60_000,
            );
            consumer.run({
              autoCommit: false,
              eachMessage: async ({ partition, message }) => {
                const body = JSON.parse(message.value?.toString() ?? "null") as { n: number };
                seen.add(body.n);
                const next = (BigInt(message.offset) + 1n).toString();
                await consumer.commitOffsets([{ topic, partition, offset: next }]);
                if (seen.size === MESSAGES) {
                  clearTimeout(timer);
                  resolve();
                }
              },
            }).catch(reject);
          });
        } finally {
          await consumer.disconnect();
        }
        assert.equal(seen.size, MESSAGES);

        const admin = client.admin();
        await admin.connect();
        try {
          const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
          const high = await admin.fetchTopicOffsets(topic);
          assert.equal(committed?.partitions.length, PARTITIONS);
          for (const { partition, offset } of committed?.partitions ?? []) {
            assert.equal(offset, high.find((p) => p.partition === partition)?.high);
          }
          const described = await admin.describeGroups([groupId]);
          assert.equal(described.groups[0]?.state, "Empty");
        } finally {
          await admin.disconnect();
        }
      });

      for (const mechanism of kafka.saslMechanisms) {
        await t.step(`connects over SASL ${mechanism}`, async () => {
          const sasl = new Kafka({
            ...config,
            brokers: kafka.saslBrokers,
            sasl: { mechanism, username: kafka.saslUser, password: kafka.saslPassword },
          } as KafkaConfig);
          const admin = sasl.admin();
          await admin.connect();
          try {
            assert.ok((await admin.listTopics()).includes(topic));
          } finally {
            await admin.disconnect();
          }
          const producer = sasl.producer({ createPartitioner: Partitioners.DefaultPartitioner });
          await producer.connect();
          try {
            await producer.send({ topic, messages: [{ value: `over ${mechanism}` }] });
          } finally {
            await producer.disconnect();
          }
        });
      }

      await t.step("refuses a wrong SASL password", async () => {
        const admin = new Kafka({
          ...config,
          logLevel: logLevel.NOTHING,
          brokers: kafka.saslBrokers,
          retry: { retries: 0 },
          sasl: { mechanism: "scram-sha-256", username: kafka.saslUser, password: "wrong" },
        }).admin();
        await assert.rejects(admin.connect(), /SASL SCRAM SHA256 authentication failed/);
        await admin.disconnect();
      });

      await t.step("connects over TLS, verifying the broker with the listener's CA", async () => {
        const admin = new Kafka({
          ...config,
          brokers: kafka.tlsBrokers,
          ssl: { ca: [kafka.tlsCaPem] },
        }).admin();
        await admin.connect();
        try {
          assert.ok((await admin.listTopics()).includes(topic));
        } finally {
          await admin.disconnect();
        }
      });

      await t.step("refuses TLS without that CA", async () => {
        const admin = new Kafka({
          ...config,
          logLevel: logLevel.NOTHING,
          brokers: kafka.tlsBrokers,
          retry: { retries: 0 },
          ssl: true,
        }).admin();
        await assert.rejects(admin.connect(), /certificate|issuer/i);
        await admin.disconnect();
      });
      passed = true;
    } finally {
      await kafka.stop();
      if (passed) await Deno.remove(logDir, { recursive: true });
      else console.error(`Kafka log kept at ${join(logDir, "kafka.log")}`);
    }
  },
});
