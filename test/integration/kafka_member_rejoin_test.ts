/**
 * A consumer that kafkajs restarts after losing its broker re-joins as the
 * member it was (`src/kafka/member_rejoin.ts`), on a broker of the test's own
 * (it is killed and started again, which the run's shared broker cannot be).
 *
 * @module
 */

import assert from "node:assert/strict";
import { loadConfig } from "../../src/config/mod.ts";
import { createKafkaClient } from "../../src/kafka/mod.ts";
import { ensureTopic } from "../../src/producer/mod.ts";
import { startKafka } from "../env/kafka.ts";

/** Long enough that waiting it out would show: the old member's session. */
const SESSION_TIMEOUT_MS = 30_000;

Deno.test({
  name:
    "a consumer restarted after a broker outage re-joins as the same member, without waiting out its old session",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const logDir = await Deno.makeTempDir({ prefix: "jobpool-rejoin-" });
    const broker = await startKafka({ logDir });
    const topic = "rejoin";
    const { kafka } = loadConfig({ KAFKA_BROKERS: broker.brokers.join(",") });
    const client = createKafkaClient(kafka, { logLevel: "nothing" });
    const consumer = client.consumer({
      groupId: "rejoin",
      sessionTimeout: SESSION_TIMEOUT_MS,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 500,
    });
    const joins: { memberId: string; at: number }[] = [];
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      joins.push({ memberId: payload.memberId, at: Date.now() });
    });
    try {
      await ensureTopic({ kafka: { ...kafka, topic }, topic, partitions: 2 });
      await consumer.connect();
      await consumer.subscribe({ topic });
      await consumer.run({ eachBatch: async () => {} });
      await waitFor(() => joins.length === 1, 30_000, "the first join");
      const first = joins[0]!;

      await broker.kill();
      await new Promise((resolve) => setTimeout(resolve, 8_000));
      await broker.restart();
      const back = Date.now();
      await waitFor(() => joins.length >= 2, 2 * SESSION_TIMEOUT_MS, "a join after the outage");
      const rejoin = joins[1]!;

      assert.equal(
        rejoin.memberId,
        first.memberId,
        "a new member id: the group waited for the old one",
      );
      assert.ok(
        rejoin.at - back < SESSION_TIMEOUT_MS / 2,
        `re-joined ${rejoin.at - back} ms after the broker was back`,
      );
    } finally {
      await consumer.disconnect().catch(() => {});
      await broker.stop();
      await Deno.remove(logDir, { recursive: true });
    }
  },
});

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
