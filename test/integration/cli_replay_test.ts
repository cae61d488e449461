import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type Admin, Kafka, logLevel } from "kafkajs";
import { ensureTopic, loadConfig } from "../../src/mod.ts";
import { GroupActiveError, resetGroupOffsets } from "../../src/cli/replay.ts";
import { kafkaBrokers, uniqueName } from "../env/services.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Runs a CLI of `src/cli` as operators do, with only the given settings in its environment. */
async function cli(
  script: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const passThrough = ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME"]
    .flatMap((name) => {
      const value = Deno.env.get(name);
      return value === undefined ? [] : [[name, value] as const];
    });
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--config",
      `${ROOT}deno.json`,
      `${ROOT}src/cli/${script}`,
      ...args,
    ],
    cwd: ROOT,
    clearEnv: true,
    env: { ...Object.fromEntries(passThrough), ...env },
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** A topic with messages stamped `base + i * 1000` ms on partition 0, and a group at its end. */
async function setUp(base: number): Promise<{ kafka: Kafka; topic: string; group: string }> {
  const topic = uniqueName("replay_jobs");
  const group = uniqueName("replay_group");
  const brokers = kafkaBrokers();
  await ensureTopic({
    kafka: loadConfig({ KAFKA_BROKERS: brokers.join(",") }).kafka,
    topic,
    partitions: 2,
  });
  const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({
      topic,
      messages: [
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
      ],
    });
  } finally {
    await producer.disconnect();
  }
  await withAdmin(kafka, (admin) =>
    admin.setOffsets({
      groupId: group,
      topic,
      partitions: [{ partition: 0, offset: "4" }, { partition: 1, offset: "2" }],
    }));
  return { kafka, topic, group };
}

async function withAdmin<T>(kafka: Kafka, use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
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
  const env = {
    KAFKA_BROKERS: kafkaBrokers().join(","),
    KAFKA_JOB_TOPIC: topic,
    KAFKA_JOB_CONSUMER_GROUP: group,
  };
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
  const result = await cli("replay.ts", ["--to-time", new Date(base + 1500).toISOString()], {
    KAFKA_BROKERS: kafkaBrokers().join(","),
    KAFKA_JOB_TOPIC: topic,
    KAFKA_JOB_CONSUMER_GROUP: group,
  });
  assert.equal(result.code, 0, result.stderr);
  // Partition 0: messages at base+0, +1000, +2000, +3000 → offset 2. Partition 1 has
  // nothing that late, so it goes to its log end.
  assert.deepEqual(await committed(kafka, group, topic), [2, 2]);
  const rows = result.stdout.trim().split("\n").slice(1, 3).map((line) => line.trim().split(/\s+/));
  assert.deepEqual(rows, [[topic, "0", "4", "2"], [topic, "1", "2", "2"]]);
});

Deno.test("replay without a target exits 2 naming the flags", async () => {
  const result = await cli("replay.ts", [], { KAFKA_BROKERS: kafkaBrokers().join(",") });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--to-earliest and --to-time/);
});
