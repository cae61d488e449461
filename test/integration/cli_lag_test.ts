import assert from "node:assert/strict";
import type { Kafka } from "kafkajs";
import { fetchGroupLag } from "../../src/observability/lag.ts";
import { uniqueName } from "../env/services.ts";
import { cli, kafkaEnv } from "./_cli_fixture.ts";
import { createTopics, sendMessages, testKafka } from "./_kafka_fixture.ts";

function produceTo(kafka: Kafka, topic: string, counts: number[]): Promise<void> {
  return sendMessages(
    kafka,
    topic,
    counts.flatMap((count, partition) =>
      Array.from({ length: count }, (_, i) => ({ partition, key: `k${i}`, value: `${i}` }))
    ),
  );
}

Deno.test("lag is exact per partition after producing N and committing M", async () => {
  const topic = uniqueName("lag_jobs");
  const group = uniqueName("lag_group");
  await createTopics({ [topic]: 3 });
  const kafka = testKafka();
  await produceTo(kafka, topic, [7, 5, 0]);

  const admin = kafka.admin();
  await admin.connect();
  try {
    // Committed: 3 of 7 on partition 0; nothing on partitions 1 and 2.
    await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: "3" }] });
    const lag = await fetchGroupLag(admin, group, topic);
    assert.deepEqual(
      lag.partitions.map((p) => [p.partition, p.currentOffset, p.logEndOffset, p.lag]),
      [[0, 3, 7, 4], [1, null, 5, 5], [2, null, 0, 0]],
    );
    assert.equal(lag.total, 9);
  } finally {
    await admin.disconnect();
  }

  const env = kafkaEnv({ KAFKA_JOB_TOPIC: topic, KAFKA_JOB_CONSUMER_GROUP: group });
  const table = await cli("lag.ts", [], env);
  assert.equal(table.code, 0, table.stderr);
  const rows = table.stdout.trim().split("\n").map((line) => line.trim().split(/\s+/));
  assert.deepEqual(rows[0]?.slice(0, 6), [
    "GROUP",
    "TOPIC",
    "PARTITION",
    "CURRENT-OFFSET",
    "LOG-END-OFFSET",
    "LAG",
  ]);
  assert.deepEqual(rows[1]?.slice(0, 6), [group, topic, "0", "3", "7", "4"]);
  assert.deepEqual(rows[2]?.slice(0, 6), [group, topic, "1", "-", "5", "5"]);
  assert.deepEqual(rows[3]?.slice(0, 6), [group, topic, "2", "-", "0", "0"]);
  assert.match(table.stdout, /^TOTAL LAG: 9$/m);

  const json = await cli("lag.ts", ["--json"], env);
  assert.equal(json.code, 0, json.stderr);
  assert.equal(JSON.parse(json.stdout).total, 9);
});

Deno.test("lag drops to zero once a real consumer has committed everything", async () => {
  const topic = uniqueName("lag_jobs");
  const group = uniqueName("lag_group");
  await createTopics({ [topic]: 2 });
  const kafka = testKafka();
  await produceTo(kafka, topic, [4, 6]);

  const consumer = kafka.consumer({ groupId: group });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let seen = 0;
    const { promise: allSeen, resolve } = Promise.withResolvers<void>();
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        await consumer.commitOffsets([{
          topic,
          partition,
          offset: String(BigInt(message.offset) + 1n),
        }]);
        if (++seen === 10) resolve();
      },
    });
    await allSeen;

    const admin = kafka.admin();
    await admin.connect();
    try {
      const lag = await fetchGroupLag(admin, group, topic);
      assert.deepEqual(lag.partitions.map((p) => [p.currentOffset, p.lag]), [[4, 0], [6, 0]]);
      assert.equal(lag.total, 0);
    } finally {
      await admin.disconnect();
    }

    // While the member is up, the table names it as the owner of its partitions.
    const table = await cli(
      "lag.ts",
      [],
      kafkaEnv({ KAFKA_JOB_TOPIC: topic, KAFKA_JOB_CONSUMER_GROUP: group }),
    );
    assert.equal(table.code, 0, table.stderr);
    const firstRow = table.stdout.split("\n")[1]?.trim().split(/\s+/) ?? [];
    assert.notEqual(firstRow[6], "-", table.stdout);
  } finally {
    await consumer.disconnect();
  }
});

Deno.test("lag names the variable when the topic does not exist", async () => {
  const result = await cli("lag.ts", [], kafkaEnv({ KAFKA_JOB_TOPIC: uniqueName("missing") }));
  assert.equal(result.code, 1);
  assert.match(result.stderr, /does not exist: check KAFKA_JOB_TOPIC/);
});

Deno.test("lag rejects a bad setting with exit code 2 naming it", async () => {
  const result = await cli("lag.ts", [], { KAFKA_BROKERS: "no-port" });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /KAFKA_BROKERS/);
});
