import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { ConsumedMessage } from "./consumer.ts";
import { Intake, type IntakeConsumer, keyOf, OwnedPartition, type WorkerJob } from "./intake.ts";
import { KeyedPool } from "./keyed_pool.ts";

/** Records what intake asks of the consumer. */
class Consumer implements IntakeConsumer {
  readonly seeks: number[] = [];
  readonly paused: number[] = [];
  seek(_topic: string, _partition: number, offset: number): void {
    this.seeks.push(offset);
  }
  pausePartition(_topic: string, partition: number): void {
    this.paused.push(partition);
  }
  resumePartition(): void {}
}

function message(offset: number, key: string, valueBytes = 0): ConsumedMessage {
  return {
    topic: "t",
    partition: 0,
    offset: String(offset),
    key: Buffer.from(key),
    value: valueBytes > 0 ? Buffer.alloc(valueBytes) : null,
    headers: {},
    timestamp: "0",
  };
}

/** An intake over a pool whose jobs end when the test says so. */
function setup(
  options: { bufferSize: number; keyCap: number; deferLimit?: number; bufferBytes?: number },
) {
  const running = new Map<number, () => void>();
  const consumer = new Consumer();
  const owner = new OwnedPartition("t", 0);
  const late: { intake?: Intake } = {};
  const pool = new KeyedPool<WorkerJob>({
    size: 100,
    run: (job) =>
      new Promise<void>((resolve) => running.set(job.offset, () => resolve())).then(() => {
        job.result = "finished";
      }),
    onSettled: (job) => late.intake?.jobEnded(job.owner, job.key),
    weigh: (job) => job.size,
  });
  const intake = late.intake = new Intake({
    pool,
    consumer,
    bufferSize: options.bufferSize,
    bufferBytes: options.bufferBytes ?? 1 << 20,
    keyCap: options.keyCap,
    deferLimit: options.deferLimit ?? 1_000,
    maxWaiting: options.bufferSize,
  });
  const offer = (messages: ConsumedMessage[], from = 0) =>
    intake.offer(owner, { topic: "t", partition: 0, highWatermark: "0", messages }, from);
  const end = async (offset: number) => {
    running.get(offset)?.();
    running.delete(offset);
    await new Promise((resolve) => setTimeout(resolve, 0));
  };
  return { intake, consumer, owner, offer, end, running };
}

Deno.test("a key at its cap defers the rest and is rewound to its first deferred offset", async () => {
  const { consumer, owner, offer, end, running } = setup({ bufferSize: 100, keyCap: 2 });
  const log = [0, 1, 2, 3].map((offset) => message(offset, "a"));
  assert.equal(offer(log), 4);
  assert.deepEqual([...running.keys()], [0], "one at a time per key");
  assert.equal(owner.deferred, 2);
  await end(0);
  assert.deepEqual(consumer.seeks, [2], "held 1 of 2: the key takes again");
  assert.equal(offer(log.slice(2)), 2, "fetched again from the seek");
  assert.equal(owner.deferred, 1, "offset 3 waits: the key is at its cap again");
});

Deno.test("a rewind never seeks forward past deferred messages still to come", async () => {
  const { consumer, offer, end } = setup({ bufferSize: 3, keyCap: 1 });
  const log = [message(0, "a"), message(1, "a"), message(2, "b"), message(3, "b")];
  // a@0 and b@2 run, a@1 and b@3 are deferred (cap 1 per key).
  assert.equal(offer(log), 4);
  await end(0);
  assert.deepEqual(consumer.seeks, [1]);
  // Fetching from 1 again: a@1 runs, b@3 stays deferred (b is busy).
  assert.equal(offer(log.slice(1)), 3);
  await end(2);
  assert.deepEqual(consumer.seeks, [1, 3], "b's deferred message is behind the position: seek");
  // Now stop before b@3 (as back-pressure would), then let a end: a has nothing deferred.
  await end(1);
  assert.deepEqual(consumer.seeks, [1, 3], "no seek for a key with nothing deferred");
});

Deno.test("a rewind to an offset fetching has not reached yet does not seek", async () => {
  const { consumer, owner, offer, end } = setup({ bufferSize: 2, keyCap: 1 });
  const log = [message(0, "a"), message(1, "a"), message(2, "b"), message(3, "c")];
  // Buffer 2: a@0 and b@2 taken, a@1 deferred, c@3 left for later (no space).
  assert.equal(offer(log), 3);
  assert.equal(owner.position, 3);
  await end(0);
  assert.deepEqual(consumer.seeks, [1]);
  assert.equal(owner.position, 1);
  await end(2);
  assert.deepEqual(consumer.seeks, [1], "b has nothing deferred");
  assert.equal(keyOf(owner, log[0]!), "t:0/a");
});

Deno.test("too many deferred messages pause the partition until a rewind", async () => {
  const { consumer, offer, end } = setup({ bufferSize: 10, keyCap: 1, deferLimit: 2 });
  const log = [0, 1, 2, 3].map((offset) => message(offset, "a"));
  assert.equal(offer(log), 3, "stops at the message that reached the limit");
  assert.deepEqual(consumer.paused, [0]);
  await end(0);
  assert.deepEqual(consumer.seeks, [1]);
});

Deno.test("the buffer is bounded in bytes too, and a message larger than it is still taken alone", async () => {
  const { intake, offer, end, running } = setup({ bufferSize: 100, keyCap: 50, bufferBytes: 1000 });
  // Keys of 1 byte + values of 400: two fit under 1000 bytes, the third waits for room.
  const log = [0, 1, 2, 3].map((offset) => message(offset, String(offset), 400));
  assert.equal(offer(log), 3, "0, 1 and 2 taken (802 bytes held before 2), 3 left for later");
  assert.equal(intake.hasSpace(), false);
  assert.equal(intake.hasRoom(), false);
  await end(0);
  await end(1);
  assert.equal(intake.hasRoom(), true, "401 bytes held: under half the buffer");
  assert.equal(offer(log, 3), 1);
  await end(2);
  await end(3);
  assert.equal(running.size, 0);
  const huge = message(4, "h", 5000);
  assert.equal(offer([huge]), 1, "nothing held: a message beyond the budget still runs");
  assert.equal(intake.hasSpace(), false);
  await end(4);
  assert.equal(intake.hasSpace(), true);
});
