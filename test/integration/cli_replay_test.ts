import assert from "node:assert/strict";
import type { Kafka } from "kafkajs";
import { withAdmin } from "../../src/cli/common.ts";
import { GroupActiveError, resetGroupOffsets } from "../../src/cli/replay.ts";
import { uniqueName } from "../env/services.ts";
import { cli, kafkaEnv } from "./_cli_fixture.ts";
import { createTopics, sendMessages, testKafka } from "./_kafka_fixture.ts";

/** A topic with messages stamped `base + i * 1000` ms on partition 0, and a group at its end. */
async function setUp(base: number): Promise<{ kafka: Kafka; topic: string; group: string }> {
  const topic = uniqueName("replay_jobs");
  const group = uniqueName("replay_group");
  await createTopics({ [topic]: 2 });
  const kafka = testKafka();
  await sendMessages(kafka, topic, [
    ...[0, 1, 2, 3].map((i) => ({
      partition: 0,
      key: `k${i}`,
      value: `${i}`,
      timestamp: String(base + i * 1000),
    })),
    ...[0, 1].map((i) => ({
      partition: 1,
      key: `k${i}`,
      value: `${i}`,
      timestamp: String(base - 60_000 + i),
    })),
  ]);
  await withAdmin(kafka, (admin) =>
    admin.setOffsets({
      groupId: group,
      topic,
      partitions: [{ partition: 0, offset: "4" }, { partition: 1, offset: "2" }],
    }));
  return { kafka, topic, group };
}

async function committed(kafka: Kafka, group: string, topic: string): Promise<number[]> {
  const offsets = await withAdmin(
    kafka,
    (admin) => admin.fetchOffsets({ groupId: group, topics: [topic] }),
  );
  return (offsets[0]?.partitions ?? [])
    .sort((a, b) => a.partition - b.partition)
    .map((entry) => Number(entry.offset));
}

Deno.test("replay refuses while the group has a member, and resets once it left", async () => {
  const { kafka, topic, group } = await setUp(Date.now() - 10_000);
  const env = kafkaEnv({ KAFKA_JOB_TOPIC: topic, KAFKA_JOB_CONSUMER_GROUP: group });
  const consumer = kafka.consumer({ groupId: group });
  await consumer.connect();
  let joined = false;
  try {
    const { promise: joinedGroup, resolve } = Promise.withResolvers<void>();
    consumer.on(consumer.events.GROUP_JOIN, () => resolve());
    await consumer.subscribe({ topic });
    await consumer.run({ eachMessage: () => Promise.resolve() });
    await joinedGroup;
    joined = true;

    const refused = await cli("replay.ts", ["--to-earliest"], env);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, new RegExp(`Consumer group "${group}" has 1 active member`));
    assert.match(refused.stderr, /stop every worker of the group/);
    await assert.rejects(
      withAdmin(
        kafka,
        (admin) => resetGroupOffsets(admin, { group, topic, to: { earliest: true } }),
      ),
      GroupActiveError,
    );
    assert.deepEqual(await committed(kafka, group, topic), [4, 2]);
  } finally {
    await consumer.disconnect();
  }
  assert.ok(joined);

  const dryRun = await cli("replay.ts", ["--to-earliest", "--dry-run"], env);
  assert.equal(dryRun.code, 0, dryRun.stderr);
  assert.deepEqual(await committed(kafka, group, topic), [4, 2]);

  const reset = await cli("replay.ts", ["--to-earliest"], env);
  assert.equal(reset.code, 0, reset.stderr);
  assert.match(reset.stdout, /now starts from the earliest offsets/);
  assert.deepEqual(await committed(kafka, group, topic), [0, 0]);
});

Deno.test("replay --to-time goes to the first message at or after the time", async () => {
  const base = Date.now() - 30_000;
  const { kafka, topic, group } = await setUp(base);
  const result = await cli(
    "replay.ts",
    ["--to-time", new Date(base + 1500).toISOString()],
    kafkaEnv({ KAFKA_JOB_TOPIC: topic, KAFKA_JOB_CONSUMER_GROUP: group }),
  );
  assert.equal(result.code, 0, result.stderr);
  // Partition 0: messages at base+0, +1000, +2000, +3000 → offset 2. Partition 1 has
  // nothing that late, so it goes to its log end.
  assert.deepEqual(await committed(kafka, group, topic), [2, 2]);
  const rows = result.stdout.trim().split("\n").slice(1, 3).map((line) => line.trim().split(/\s+/));
  assert.deepEqual(rows, [[topic, "0", "4", "2"], [topic, "1", "2", "2"]]);
});

Deno.test("replay without a target exits 2 naming the flags", async () => {
  const result = await cli("replay.ts", [], kafkaEnv());
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--to-earliest and --to-time/);
});
