/**
 * A consumer with work in progress fetches a partition it resumes or seeks
 * at once, not after the fetch wait in flight (`src/kafka/busy_fetch_wait.ts`),
 * on the run's real broker: a partition paused and resumed while another one
 * is fetched (the broker holds that fetch for its wait) and while none is
 * (kafkajs sleeps instead of fetching), and a partition sought back while an
 * offset is not committed, with nothing new to fetch; and an idle consumer
 * still long-polls.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Consumer } from "kafkajs";
import { loadConfig } from "../../src/config/mod.ts";
import { createKafkaClient } from "../../src/kafka/mod.ts";
import { kafkaBrokers, uniqueName } from "../env/services.ts";
import { createTopics, sendMessages } from "./_kafka_fixture.ts";
import { waitUntil } from "./fixtures/worker_harness.ts";

/** Long enough that waiting it out would show. */
const FETCH_WAIT_MS = 10_000;

interface Case {
  name: string;
  partitions: number;
  /** kafkajs commits after each batch: only the pause makes the consumer busy. */
  autoCommit: boolean;
  /** After the first message: what makes partition 0 come again, and what comes. */
  fetchAgain(consumer: Consumer, topic: string): Promise<string>;
}

const cases: Case[] = [
  {
    name: "a paused partition resumed, another partition idle",
    partitions: 2,
    autoCommit: true,
    fetchAgain: resumeWithNewMessage,
  },
  {
    name: "a paused partition resumed, no other partition",
    partitions: 1,
    autoCommit: true,
    fetchAgain: resumeWithNewMessage,
  },
  {
    name: "a partition sought back while its offset is not committed",
    partitions: 1,
    autoCommit: false,
    fetchAgain: (consumer, topic) => {
      consumer.seek({ topic, partition: 0, offset: "0" });
      return Promise.resolve("first");
    },
  },
];

for (const { name, partitions, autoCommit, fetchAgain } of cases) {
  Deno.test({
    name: `fetched again without waiting out the fetch wait: ${name}`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const topic = uniqueName("busy-fetch");
      await createTopics({ [topic]: partitions });
      const { kafka } = loadConfig({ KAFKA_BROKERS: kafkaBrokers().join(",") });
      const client = createKafkaClient(kafka, { logLevel: "nothing" });
      const consumer = client.consumer({ groupId: topic, maxWaitTimeInMs: FETCH_WAIT_MS });
      const arrivals: { value: string; at: number }[] = [];
      try {
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          autoCommit,
          eachBatch: ({ batch }) => {
            for (const message of batch.messages) {
              arrivals.push({ value: String(message.value), at: Date.now() });
            }
            // As the worker does when a partition's waiting jobs reach their cap.
            if (autoCommit) consumer.pause([{ topic, partitions: [0] }]);
            return Promise.resolve();
          },
        });
        await sendMessages(client, topic, [{ partition: 0, value: "first" }]);
        await waitUntil(() => arrivals.length === 1, "the first message", 30_000);
        // The next fetch is out now, and would hold for the fetch wait.
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const expected = await fetchAgain(consumer, topic);
        const asked = Date.now();
        await waitUntil(() => arrivals.length === 2, "the message again", 2 * FETCH_WAIT_MS);
        const waited = arrivals[1]!.at - asked;
        assert.equal(arrivals[1]!.value, expected);
        assert.ok(
          waited < FETCH_WAIT_MS / 4,
          `fetched ${waited} ms after it was asked: it waited out the ${FETCH_WAIT_MS} ms fetch wait`,
        );
      } finally {
        await consumer.disconnect().catch(() => {});
      }
    },
  });
}

Deno.test({
  name:
    "an idle consumer long-polls with its fetch wait; one with an offset not committed does not",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const topic = uniqueName("busy-fetch-idle");
    await createTopics({ [topic]: 1 });
    const { kafka } = loadConfig({ KAFKA_BROKERS: kafkaBrokers().join(",") });
    const client = createKafkaClient(kafka, { logLevel: "nothing" });
    const consumer = client.consumer({ groupId: topic, maxWaitTimeInMs: FETCH_WAIT_MS });
    let fetches = 0;
    consumer.on(consumer.events.FETCH_START, () => fetches++);
    let taken = 0;
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: ({ batch }) => {
          taken += batch.messages.length;
          return Promise.resolve();
        },
      });
      await sendMessages(client, topic, [{ partition: 0, value: "job" }]);
      await waitUntil(() => taken === 1, "the message", 30_000);
      // Resolved, not committed: busy (a job of the worker still running).
      fetches = 0;
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const busy = fetches;
      await consumer.commitOffsets([{ topic, partition: 0, offset: "1" }]);
      // Committed: idle. The fetch out when the commit landed may still be a brief one.
      await new Promise((resolve) => setTimeout(resolve, 200));
      fetches = 0;
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const idle = fetches;
      assert.ok(busy >= 10, `${busy} fetches in 2 s while busy: the wait was not brief`);
      assert.ok(idle <= 1, `${idle} fetches in 2 s while idle: it did not long-poll`);
    } finally {
      await consumer.disconnect().catch(() => {});
    }
  },
});

/** Writes a second message to the paused partition 0, then resumes it. */
async function resumeWithNewMessage(consumer: Consumer, topic: string): Promise<string> {
  const { kafka } = loadConfig({ KAFKA_BROKERS: kafkaBrokers().join(",") });
  await sendMessages(createKafkaClient(kafka, { logLevel: "nothing" }), topic, [
    { partition: 0, value: "second" },
  ]);
  consumer.resume([{ topic, partitions: [0] }]);
  return "second";
}
