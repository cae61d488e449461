import assert from "node:assert/strict";
import type { Kafka, KafkaMessage } from "kafkajs";
import { withAdmin } from "../../src/cli/common.ts";
import { DEAD_LETTER_HEADERS } from "../../src/worker/dead_letter.ts";
import { uniqueName } from "../env/services.ts";
import { cli, kafkaEnv } from "./_cli_fixture.ts";
import { createTopics, sendMessages, testKafka } from "./_kafka_fixture.ts";

const h = DEAD_LETTER_HEADERS;

interface Fixture {
  kafka: Kafka;
  topic: string;
  dlq: string;
  clientId: string;
  env: Record<string, string>;
}

const welcome = {
  id: "6f1c1d1e-0000-4000-8000-000000000001",
  type: "job.email.welcome",
  account_id: "0b7e9c1d-2a3f-4e5d-8c6b-7a8f9e0d1c2b",
  campaign_id: "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
  data: {},
  timestamp: "2026-11-28T09:00:00.000Z",
};

function failure(
  original: { partition: number; offset: number },
  error: { class: string; message: string; attempts: number },
): Record<string, string> {
  return {
    [h.originalTopic]: "job-events",
    [h.originalPartition]: String(original.partition),
    [h.originalOffset]: String(original.offset),
    [h.errorClass]: error.class,
    [h.errorMessage]: error.message,
    [h.attempts]: String(error.attempts),
    [h.firstFailureAt]: "2026-11-28T09:00:01.000Z",
    [h.lastFailureAt]: "2026-11-28T09:00:09.000Z",
  };
}

/**
 * A job topic and a two-partition DLQ holding three dead letters: 0:0 and 0:1
 * (handler failures) and 1:0 (a poison message that is not JSON).
 */
async function setUp(): Promise<Fixture> {
  const topic = uniqueName("dlq_jobs");
  const dlq = `${topic}.dlq`;
  const clientId = uniqueName("dlq_cli");
  await createTopics({ [topic]: 1, [dlq]: 2 });
  const kafka = testKafka();
  await sendMessages(kafka, dlq, [
    {
      partition: 0,
      key: welcome.campaign_id,
      value: JSON.stringify(welcome),
      headers: {
        "job-type": welcome.type,
        "job-id": welcome.id,
        "content-type": "application/json",
        ...failure({ partition: 3, offset: 41 }, {
          class: "RetryLaterError",
          message: "SMTP server unavailable",
          attempts: 5,
        }),
      },
    },
    {
      partition: 0,
      key: welcome.campaign_id,
      value: JSON.stringify({ ...welcome, id: "6f1c1d1e-0000-4000-8000-000000000002" }),
      headers: {
        "job-type": welcome.type,
        "job-id": "6f1c1d1e-0000-4000-8000-000000000002",
        ...failure({ partition: 3, offset: 42 }, {
          class: "PermanentJobError",
          message: "user does not exist",
          attempts: 1,
        }),
      },
    },
    {
      partition: 1,
      key: "poison",
      value: "{not json",
      headers: failure({ partition: 7, offset: 9 }, {
        class: "JobDecodeError",
        message: "Invalid JSON",
        attempts: 0,
      }),
    },
  ]);
  return {
    kafka,
    topic,
    dlq,
    clientId,
    env: kafkaEnv({ KAFKA_JOB_TOPIC: topic, KAFKA_CLIENT_ID: clientId }),
  };
}

async function readTopic(kafka: Kafka, topic: string, count: number): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: uniqueName("dlq_check") });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const { promise: done, resolve } = Promise.withResolvers<void>();
    await consumer.run({
      eachMessage: ({ message }) => {
        messages.push(message);
        if (messages.length >= count) resolve();
        return Promise.resolve();
      },
    });
    await done;
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

function headerText(message: KafkaMessage): Record<string, string> {
  return Object.fromEntries(
    Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]),
  );
}

Deno.test("dlq list and show print where each dead letter came from and why", async () => {
  const { kafka, env, clientId } = await setUp();

  const list = await cli("dlq.ts", ["list"], env);
  assert.equal(list.code, 0, list.stderr);
  const rows = list.stdout.trim().split("\n").slice(1, 4).map((line) => line.split(/\s+/));
  assert.deepEqual(rows.map((row) => row.slice(0, 5)), [
    ["0:0", "job-events/3@41", "job.email.welcome", welcome.id, "5"],
    ["0:1", "job-events/3@42", "job.email.welcome", "6f1c1d1e-0000-4000-8000-000000000002", "1"],
    ["1:0", "job-events/7@9", "-", "-", "0"],
  ]);
  assert.match(list.stdout, /RetryLaterError: SMTP server unavailable/);
  assert.match(list.stdout, /JobDecodeError: Invalid JSON/);
  assert.match(list.stdout, /3 of 3 dead letter\(s\)/);

  const limited = await cli("dlq.ts", ["list", "--limit", "2"], env);
  assert.equal(limited.code, 0, limited.stderr);
  assert.match(limited.stdout, /2 of 3 dead letter\(s\)/);

  const show = await cli("dlq.ts", ["show", "0:1"], env);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /^Original: +job-events\/3@42$/m);
  assert.match(show.stdout, /^Error class: +PermanentJobError$/m);
  assert.match(show.stdout, /^Error message: +user does not exist$/m);
  assert.match(show.stdout, /^Attempts: +1$/m);
  assert.match(show.stdout, /^First failure: +2026-11-28T09:00:01.000Z$/m);
  assert.match(show.stdout, /"type": "job.email.welcome"/);

  const missing = await cli("dlq.ts", ["show", "1:5"], env);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No dead letter at 1:5/);

  // Every read used a throwaway group of its own and deleted it afterwards.
  const { groups } = await withAdmin(kafka, (admin) => admin.listGroups());
  assert.deepEqual(groups.filter((group) => group.groupId.startsWith(clientId)), []);
});

Deno.test("dlq replay re-publishes the originals without the failure headers", async () => {
  const { kafka, env, topic } = await setUp();

  const one = await cli("dlq.ts", ["replay", "0:0"], env);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /Replayed 1 dead letter\(s\)/);
  const [replayed] = await readTopic(kafka, topic, 1);
  assert.ok(replayed);
  assert.equal(String(replayed.key), welcome.campaign_id);
  assert.deepEqual(JSON.parse(String(replayed.value)), welcome);
  assert.deepEqual(headerText(replayed), {
    "job-type": welcome.type,
    "job-id": welcome.id,
    "content-type": "application/json",
  });

  const all = await cli("dlq.ts", ["replay", "--all"], env);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /Replayed 3 dead letter\(s\)/);
  const messages = await readTopic(kafka, topic, 4);
  assert.deepEqual(messages.map((message) => String(message.key)), [
    welcome.campaign_id,
    welcome.campaign_id,
    welcome.campaign_id,
    "poison",
  ]);
  for (const message of messages) {
    assert.deepEqual(Object.keys(headerText(message)).filter((name) => name.startsWith("x-")), []);
  }
});

Deno.test("dlq replay sends nothing when one of the positions does not exist", async () => {
  const { kafka, env, topic } = await setUp();
  const result = await cli("dlq.ts", ["replay", "0:0", "0:9"], env);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /No dead letter at 0:9/);
  const [bounds] = await withAdmin(kafka, (admin) => admin.fetchTopicOffsets(topic));
  assert.equal(bounds?.high, "0");
});

Deno.test("dlq names KAFKA_DLQ_TOPIC when the dead-letter topic is missing", async () => {
  const result = await cli(
    "dlq.ts",
    ["list"],
    kafkaEnv({ KAFKA_DLQ_TOPIC: uniqueName("missing") }),
  );
  assert.equal(result.code, 1);
  assert.match(result.stderr, /KAFKA_DLQ_TOPIC/);
});
