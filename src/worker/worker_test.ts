import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { loadConfig } from "../config/mod.ts";
import type { PartialJobHandlers } from "../handlers/handler.ts";
import { createJobEvent, type JobEvent, toJobMessage } from "../jobs/mod.ts";
import type { ConsumedMessage, ConsumerListener } from "./consumer.ts";
import type { TopicPartitionOffset } from "./offsets.ts";
import { type ConsumerPort, type RunningWorker, startWorker } from "./worker.ts";

const TOPIC = "jobs";

/** Stands in for Kafka: the test drives the listener and reads the commits. */
class FakeConsumer implements ConsumerPort {
  readonly commits: TopicPartitionOffset[][] = [];
  listener!: ConsumerListener;
  paused = false;
  constructor(readonly assignment: number[] = [0, 1]) {}
  start(): Promise<void> {
    this.listener.onAssigned({ [TOPIC]: this.assignment });
    return Promise.resolve();
  }
  pause(): void {
    this.paused = true;
  }
  readonly pausedPartitions = new Set<number>();
  pausePartition(_topic: string, partition: number): void {
    this.pausedPartitions.add(partition);
  }
  resumePartition(_topic: string, partition: number): void {
    this.pausedPartitions.delete(partition);
  }
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    this.commits.push([...offsets]);
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  /** Offers messages of `partition` at `offsets`; returns how many were accepted. */
  offer(partition: number, events: { offset: number; event: JobEvent }[]): number {
    const messages = events.map(({ offset, event }): ConsumedMessage => ({
      topic: TOPIC,
      partition,
      offset: String(offset),
      key: Buffer.from(event.campaign_id),
      value: Buffer.from(toJobMessage(event).value),
      headers: {},
      timestamp: "0",
    }));
    return this.listener.onBatch({ topic: TOPIC, partition, highWatermark: "100", messages }, 0);
  }
  /** The last committed offset of `partition`, from every commit so far. */
  committed(partition: number): number | undefined {
    const all = this.commits.flat().filter((commit) => commit.partition === partition);
    return all.length === 0 ? undefined : Number(all.at(-1)!.offset);
  }
}

function job(campaignId = crypto.randomUUID()): JobEvent {
  return createJobEvent({
    type: "job.email.welcome",
    accountId: crypto.randomUUID(),
    campaignId,
    data: { type: "welcome", campaign_id: campaignId, user_id: crypto.randomUUID(), priority: 1 },
  });
}

async function start(
  handlers: PartialJobHandlers,
  env: Record<string, string> = {},
  consumer = new FakeConsumer(),
  signal?: AbortSignal,
): Promise<{ worker: RunningWorker; consumer: FakeConsumer }> {
  const connectable = { connect: () => Promise.resolve(), disconnect: () => Promise.resolve() };
  const worker = await startWorker({
    config: loadConfig({
      KAFKA_JOB_TOPIC: TOPIC,
      KAFKA_COMMIT_INTERVAL_MS: "60000",
      SHUTDOWN_TIMEOUT_MS: "50",
      ...env,
    }),
    handlers,
    lagRefreshMs: 60_000,
    ...(signal ? { signal } : {}),
  }, {
    consumer: (listener) => {
      consumer.listener = listener;
      return consumer;
    },
    deadLetters: { ...connectable, publish: () => Promise.resolve() },
    admin: {
      ...connectable,
      fetchOffsets: () => Promise.resolve([]),
      fetchTopicOffsets: () => Promise.resolve([]),
    },
  });
  return { worker, consumer };
}

function gate() {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { promise, open: () => resolve() };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

Deno.test("worker never commits a partition it lost, even for work finished afterwards", async () => {
  const slow = job();
  const hold = gate();
  const { worker, consumer } = await start({
    "job.email.welcome": (event) => event.id === slow.id ? hold.promise : Promise.resolve(),
  });
  consumer.offer(0, [{ offset: 0, event: job() }]);
  consumer.offer(1, [{ offset: 0, event: slow }]);
  await tick();
  consumer.listener.onRebalancing();
  await tick();
  assert.equal(consumer.committed(0), 1, "the rebalance flushes finished work");
  consumer.listener.onAssigned({ [TOPIC]: [0] });
  hold.open();
  await tick();
  await worker.stop();
  assert.equal(consumer.committed(1), undefined);
  assert.equal(consumer.paused, true);
});

Deno.test("worker lets running jobs finish and commits them before it re-joins a rebalancing group", async () => {
  const campaign = crypto.randomUUID();
  const slow = job(campaign);
  const queued = job(campaign);
  const hold = gate();
  const seen: string[] = [];
  const { worker, consumer } = await start({
    "job.email.welcome": (event) => {
      seen.push(event.id);
      return event.id === slow.id ? hold.promise : Promise.resolve();
    },
  }, { SHUTDOWN_TIMEOUT_MS: "60000" });
  consumer.offer(0, [{ offset: 0, event: job() }]);
  consumer.offer(1, [{ offset: 0, event: slow }, { offset: 1, event: queued }]);
  await tick();
  let rejoined = false;
  const revoking = consumer.listener.onRevoking(() =>
    Promise.reject(new Error("The group is rebalancing"))
  ).then(() => rejoined = true);
  await tick();
  assert.equal(rejoined, false, "the member waits for its running job");
  assert.equal(consumer.offer(0, [{ offset: 1, event: job() }]), 0, "no new work is taken");
  hold.open();
  await revoking;
  assert.equal(consumer.committed(0), 1);
  assert.equal(consumer.committed(1), 1, "the slow job is committed with the old generation");
  assert.equal(seen.length, 2, "the first job of partition 0 and the slow one ran");
  assert.equal(seen.includes(queued.id), false, "the queued job is left for redelivery");
  consumer.listener.onAssigned({ [TOPIC]: [0] });
  assert.equal(consumer.offer(0, [{ offset: 1, event: job() }]), 1);
  await tick();
  await worker.stop();
  assert.equal(consumer.committed(0), 2);
});

Deno.test("worker skips messages it already holds when a kept partition is fetched again", async () => {
  const seen: string[] = [];
  const { worker, consumer } = await start({
    "job.email.welcome": (event) => Promise.resolve(void seen.push(event.id)),
  });
  const events = [job(), job(), job(), job()];
  assert.equal(
    consumer.offer(0, events.slice(0, 2).map((event, offset) => ({ offset, event }))),
    2,
  );
  consumer.listener.onRebalancing();
  consumer.listener.onAssigned({ [TOPIC]: [0, 1] });
  // kafkajs fetches from the last commit again after re-joining.
  assert.equal(consumer.offer(0, events.map((event, offset) => ({ offset, event }))), 4);
  await tick();
  await worker.stop();
  assert.deepEqual(seen, events.map((event) => event.id));
  assert.equal(consumer.committed(0), 4);
});

Deno.test("worker accepts no more than its buffer and waits for room", async () => {
  const hold = gate();
  const { worker, consumer } = await start(
    { "job.email.welcome": () => hold.promise },
    { KAFKA_WORKER_BUFFER_SIZE: "2", KAFKA_WORKER_POOL_SIZE: "1" },
  );
  const offered = [job(), job(), job()].map((event, offset) => ({ offset, event }));
  assert.equal(consumer.offer(0, offered), 2);
  let roomy = false;
  const room = consumer.listener.waitForRoom(60_000).then(() => roomy = true);
  await tick();
  assert.equal(roomy, false);
  hold.open();
  await room;
  await worker.stop();
});

Deno.test("worker commits only up to the first unfinished job and stops without passing it", async () => {
  const campaign = crypto.randomUUID();
  const stuck = job();
  const { worker, consumer } = await start({
    "job.email.welcome": (event, { signal }) =>
      event.id === stuck.id
        ? new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)))
        : Promise.resolve(),
  });
  const events = [job(campaign), stuck, job(campaign), job()];
  consumer.offer(0, events.map((event, offset) => ({ offset, event })));
  await tick();
  await worker.stop();
  assert.equal(consumer.committed(0), 1);
  assert.equal(worker.ready, false);
});

Deno.test("worker is ready only once it joined with a partition assigned", async () => {
  const { worker, consumer } = await start({}, {}, new FakeConsumer([]));
  assert.equal(worker.joins, 1);
  assert.equal(worker.ready, false, "joined without partitions is not ready");
  consumer.listener.onAssigned({ [TOPIC]: [1] });
  assert.equal(worker.ready, true);
  consumer.listener.onAssigned({ other: [0] });
  assert.equal(worker.ready, false);
  await worker.stop();
});

Deno.test("worker stops its consumer when starting it fails", async () => {
  const consumer = new FakeConsumer();
  let stopped = false;
  consumer.start = () => Promise.reject(new Error("broker away"));
  consumer.stop = () => Promise.resolve(void (stopped = true));
  await assert.rejects(start({}, {}, consumer), /broker away/);
  assert.equal(stopped, true);
});

Deno.test("worker stopped by its signal reports a failed stop through done, not as unhandled", async () => {
  const consumer = new FakeConsumer();
  consumer.pause = () => {
    throw new Error("pause failed");
  };
  const controller = new AbortController();
  const { worker } = await start({}, {}, consumer, controller.signal);
  controller.abort();
  await assert.rejects(worker.done, /pause failed/);
  await tick();
});

Deno.test("worker stats count only jobs whose handler ran", async () => {
  const { worker, consumer } = await start({
    "job.email.welcome": () => new Promise((resolve) => setTimeout(resolve, 2)),
  }, { KAFKA_JOB_TYPES: "job.reward.deliver" });
  consumer.offer(0, [job(), job()].map((event, offset) => ({ offset, event })));
  await tick();
  assert.deepEqual(worker.stats(), { jobs: 0, totalMs: 0 }, "skipped jobs make no latency");
  await worker.stop();
});

Deno.test("a key at its buffer cap pauses its own partition, not the whole consumer", async () => {
  const hold = gate();
  const busy = crypto.randomUUID();
  const { worker, consumer } = await start({
    "job.email.welcome": (event) => event.campaign_id === busy ? hold.promise : Promise.resolve(),
  }, { KAFKA_WORKER_BUFFER_SIZE: "8", KAFKA_WORKER_POOL_SIZE: "2" });
  const backlog = Array.from({ length: 8 }, (_, offset) => ({ offset, event: job(busy) }));
  assert.equal(consumer.offer(0, backlog), 2, "a quarter of the buffer per key");
  assert.deepEqual([...consumer.pausedPartitions], [0]);
  const others = Array.from({ length: 4 }, (_, offset) => ({ offset, event: job() }));
  assert.equal(consumer.offer(1, others), 4, "other partitions go on");
  hold.open();
  await tick();
  assert.deepEqual([...consumer.pausedPartitions], [], "the partition resumes as the key drains");
  await worker.stop();
});
