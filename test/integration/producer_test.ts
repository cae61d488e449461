import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { createJobProducer, ensureTopic, JobDecodeError, loadConfig } from "../../src/mod.ts";
import type { JobEvent, KafkaConfig } from "../../src/mod.ts";
import { kafkaBrokers, kafkaSasl, uniqueName } from "../env/services.ts";

const campaignA = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f";
const campaignB = "7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a";
const account = "0b7e9c1d-2a3f-4e5d-8c6b-7a8f9e0d1c2b";
const user = "9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b";

function kafkaConfig(topic: string, extra: Record<string, string> = {}): KafkaConfig {
  return loadConfig({ KAFKA_BROKERS: kafkaBrokers().join(","), KAFKA_JOB_TOPIC: topic, ...extra })
    .kafka;
}

interface Received {
  key: string;
  partition: number;
  headers: Record<string, string>;
  event: JobEvent;
}

async function readAll(topic: string, count: number): Promise<Received[]> {
  const kafka = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: uniqueName("reader") });
  const received: Received[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Read ${received.length} of ${count} messages from ${topic}`)),
        30_000,
      );
      consumer.run({
        eachMessage: ({ message, partition }) => {
          const headers = Object.fromEntries(
            Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
          );
          received.push({
            key: String(message.key),
            partition,
            headers,
            event: JSON.parse(String(message.value)),
          });
          if (received.length >= count) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return received;
}

Deno.test("ensureTopic creates the topic with 10 partitions once", async () => {
  const topic = uniqueName("jobs");
  const kafka = kafkaConfig(topic);
  assert.equal(await ensureTopic({ kafka }), true);
  assert.equal(await ensureTopic({ kafka }), false);
  const admin = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(metadata.topics[0]?.partitions.length, 10);
  } finally {
    await admin.disconnect();
  }
});

Deno.test("ensureTopic stops waiting for leaders when its signal aborts", async () => {
  const kafka = kafkaConfig(uniqueName("jobs"));
  const reason = new Error("Shutting down");
  await assert.rejects(
    ensureTopic({ kafka, signal: AbortSignal.abort(reason) }),
    (e) => e === reason,
  );
});

Deno.test("every job type round-trips through the broker with key and headers", async () => {
  const topic = uniqueName("jobs");
  const kafka = kafkaConfig(topic);
  await ensureTopic({ kafka, partitions: 3 });
  const producer = await createJobProducer({ kafka });
  const ids: string[] = [];
  try {
    for (const emailKind of ["verification", "welcome", "position_update"] as const) {
      ids.push(
        await producer.enqueueEmailJob({
          emailKind,
          accountId: account,
          campaignId: campaignA,
          userId: user,
        }),
      );
    }
    ids.push(
      ...await producer.enqueueMany([
        {
          type: "job.email.reward_earned",
          accountId: account,
          campaignId: campaignA,
          data: { type: "reward_earned", campaign_id: campaignA, user_id: user, priority: 2 },
        },
        {
          type: "job.email.milestone",
          accountId: account,
          campaignId: campaignA,
          data: { type: "milestone", campaign_id: campaignA, user_id: user, priority: 1 },
        },
      ]),
    );
    ids.push(
      await producer.enqueuePositionRecalcJob({
        accountId: account,
        campaignId: campaignB,
        pointsPerReferral: 3,
      }),
    );
    ids.push(
      await producer.enqueueRewardDeliveryJob({
        accountId: account,
        campaignId: campaignB,
        userRewardId: user,
      }),
    );
  } finally {
    await producer.disconnect();
  }
  const received = await readAll(topic, ids.length);
  assert.deepEqual(new Set(received.map((r) => r.event.id)), new Set(ids));
  for (const message of received) {
    assert.equal(message.key, message.event.campaign_id);
    assert.equal(message.headers["job-type"], message.event.type);
    assert.equal(message.headers["job-id"], message.event.id);
    assert.equal(message.event.account_id, account);
  }
  const types = received.map((r) => r.event.type).sort();
  assert.deepEqual(types, [
    "job.email.milestone",
    "job.email.position_update",
    "job.email.reward_earned",
    "job.email.verification",
    "job.email.welcome",
    "job.position.recalculate",
    "job.reward.deliver",
  ]);
  const campaignAJobs = received.filter((r) => r.event.campaign_id === campaignA);
  assert.equal(
    new Set(campaignAJobs.map((r) => r.partition)).size,
    1,
    "one campaign, one partition",
  );
  assert.deepEqual(
    campaignAJobs.map((r) => r.event.id),
    ids.slice(0, 5),
    "one campaign's jobs keep their order",
  );
  const recalc = received.find((r) => r.event.type === "job.position.recalculate")?.event;
  assert.deepEqual(recalc?.data, { campaign_id: campaignB, points_per_referral: 3 });
});

Deno.test("invalid jobs are rejected before anything reaches Kafka", async () => {
  const topic = uniqueName("jobs");
  const kafka = kafkaConfig(topic);
  await ensureTopic({ kafka, partitions: 1 });
  const producer = await createJobProducer({ kafka });
  try {
    await assert.rejects(
      producer.enqueueEmailJob({
        emailKind: "welcome",
        accountId: account,
        campaignId: campaignA,
        userId: "not-a-uuid",
      }),
      (error: unknown) => error instanceof JobDecodeError && error.field === "data.user_id",
    );
    await assert.rejects(
      producer.enqueueMany([
        {
          type: "job.reward.deliver",
          accountId: account,
          campaignId: campaignA,
          data: { user_reward_id: user },
        },
        {
          type: "job.position.recalculate",
          accountId: account,
          campaignId: campaignA,
          data: { campaign_id: campaignA, points_per_referral: -5 },
        },
      ]),
      (error: unknown) =>
        error instanceof JobDecodeError && error.field === "data.points_per_referral",
    );
  } finally {
    await producer.disconnect();
  }
  const admin = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    assert.equal(offsets[0]?.high, "0", "nothing was written, not even the valid half of a batch");
  } finally {
    await admin.disconnect();
  }
});

for (const mechanism of ["plain", "scram-sha-256", "scram-sha-512"] as const) {
  Deno.test(`the producer authenticates with SASL ${mechanism} from config`, async () => {
    const sasl = kafkaSasl();
    const topic = uniqueName("jobs");
    const kafka = loadConfig({
      KAFKA_BROKERS: sasl.brokers.join(","),
      KAFKA_JOB_TOPIC: topic,
      KAFKA_SASL_MECHANISM: mechanism,
      KAFKA_SASL_USERNAME: sasl.username,
      KAFKA_SASL_PASSWORD: sasl.password,
    }).kafka;
    await ensureTopic({ kafka, partitions: 1 });
    const producer = await createJobProducer({ kafka });
    try {
      const id = await producer.enqueuePositionRecalcJob({
        accountId: account,
        campaignId: campaignA,
        pointsPerReferral: 1,
      });
      assert.match(id, /^[0-9a-f-]{36}$/);
    } finally {
      await producer.disconnect();
    }
    const wrong = { ...kafka, sasl: { mechanism, username: sasl.username, password: "wrong" } };
    await assert.rejects(createJobProducer({ kafka: wrong }), /SASL|[Aa]uthentication/);
  });
}
