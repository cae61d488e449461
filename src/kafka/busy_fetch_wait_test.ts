import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { BUSY_FETCH_WAIT_MS, shortenFetchWaitWhileBusy } from "./busy_fetch_wait.ts";
import { kafkajsConsumerGroup } from "./member_rejoin.ts";

interface Group {
  maxWaitTime: number;
  subscriptionState: { assign(assignment: { topic: string; partitions: number[] }[]): void };
  offsetManager: OffsetManager | null;
  pause(partitions: { topic: string; partitions?: number[] }[]): void;
  resume(partitions: { topic: string; partitions?: number[] }[]): void;
}

interface OffsetManager {
  resolveOffset(offset: { topic: string; partition: number; offset: string }): void;
  committedOffsets(): Record<string, Record<number, string>>;
}

const require = createRequire(import.meta.url);
const kafkajs = dirname(require.resolve("kafkajs"));

/**
 * kafkajs's own `ConsumerGroup`, patched, joined to partitions 0 and 1 of
 * `jobs` with kafkajs's own offset manager (nothing committed yet).
 */
function group(maxWaitTimeInMs: number): Group {
  const ConsumerGroup = kafkajsConsumerGroup() as unknown as new (options: object) => Group;
  shortenFetchWaitWhileBusy(ConsumerGroup.prototype);
  const built = new ConsumerGroup({
    logger: { namespace: () => ({ info() {} }) },
    topics: ["jobs"],
    maxWaitTimeInMs,
  });
  built.subscriptionState.assign([{ topic: "jobs", partitions: [0, 1] }]);
  const OffsetManager = require(join(kafkajs, "src/consumer/offsetManager/index.js")) as new (
    options: object,
  ) => OffsetManager;
  const committed = {};
  built.offsetManager = new OffsetManager({
    cluster: { committedOffsets: () => committed },
    memberAssignment: { jobs: [0, 1] },
    groupId: "workers",
  });
  return built;
}

Deno.test("an idle consumer group fetches with the configured wait", () => {
  const idle = group(5_000);
  assert.equal(idle.maxWaitTime, 5_000);
  idle.offsetManager = null; // before the first join
  assert.equal(idle.maxWaitTime, 5_000);
});

Deno.test("a paused partition makes the fetch wait brief until it is resumed", () => {
  const consumer = group(5_000);
  consumer.pause([{ topic: "jobs", partitions: [1] }]);
  assert.equal(consumer.maxWaitTime, BUSY_FETCH_WAIT_MS);
  consumer.resume([{ topic: "jobs", partitions: [1] }]);
  assert.equal(consumer.maxWaitTime, 5_000);
  consumer.pause([{ topic: "jobs" }]); // the whole topic, as at shutdown
  assert.equal(consumer.maxWaitTime, BUSY_FETCH_WAIT_MS);
  consumer.pause([{ topic: "jobs", partitions: [7] }]); // not this member's: no pause of its own
  consumer.resume([{ topic: "jobs" }]);
  assert.equal(consumer.maxWaitTime, 5_000);
});

Deno.test("an offset resolved but not committed makes the fetch wait brief until it is", () => {
  const consumer = group(5_000);
  consumer.offsetManager!.resolveOffset({ topic: "jobs", partition: 0, offset: "41" });
  assert.equal(consumer.maxWaitTime, BUSY_FETCH_WAIT_MS);
  consumer.offsetManager!.committedOffsets().jobs![0] = "42"; // what a commit records
  assert.equal(consumer.maxWaitTime, 5_000);
});

Deno.test("an offset committed through consumer.commitOffsets (a kafkajs Long) counts as committed", () => {
  const Long = require(join(kafkajs, "src/utils/long.js")) as { fromValue(value: string): unknown };
  const consumer = group(5_000);
  consumer.offsetManager!.resolveOffset({ topic: "jobs", partition: 1, offset: "6" });
  consumer.offsetManager!.committedOffsets().jobs![1] = Long.fromValue("7") as string;
  assert.equal(consumer.maxWaitTime, 5_000);
  consumer.offsetManager!.resolveOffset({ topic: "jobs", partition: 1, offset: "7" });
  assert.equal(consumer.maxWaitTime, BUSY_FETCH_WAIT_MS);
});

Deno.test("a configured wait shorter than the brief one stays", () => {
  const eager = group(10);
  eager.pause([{ topic: "jobs", partitions: [0] }]);
  assert.equal(eager.maxWaitTime, 10);
});

Deno.test("the patch is applied once and refuses a ConsumerGroup that defines maxWaitTime itself", () => {
  const prototype = kafkajsConsumerGroup().prototype;
  shortenFetchWaitWhileBusy(prototype);
  const accessor = Object.getOwnPropertyDescriptor(prototype, "maxWaitTime");
  shortenFetchWaitWhileBusy(prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(prototype, "maxWaitTime"), accessor);
  assert.throws(() => shortenFetchWaitWhileBusy({ maxWaitTime: 1 }), /adapt or remove/);
});
