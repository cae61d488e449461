import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { loadConfig } from "../config/mod.ts";
import type { PartialJobHandlers } from "../handlers/handler.ts";
import { createJobEvent, type JobEvent, LeaseHeldError, toJobMessage } from "../jobs/mod.ts";
import {
  CommitNotAcknowledgedError,
  type ConsumedMessage,
  type ConsumerListener,
} from "./consumer.ts";
import type { TopicPartitionOffset } from "./offsets.ts";
import type { ConsumerPort, RunningWorker } from "./ports.ts";
import { startWorker } from "./worker.ts";

const TOPIC = "jobs";

/** Stands in for Kafka: the test drives the listener and reads the commits. */
class FakeConsumer implements ConsumerPort {
  readonly commits: TopicPartitionOffset[][] = [];
  readonly seeks: { partition: number; offset: number }[] = [];
  /** Commits to refuse, as kafkajs does while its consumer restarts. */
  refuseCommits = 0;
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
  seek(_topic: string, partition: number, offset: number): void {
    this.seeks.push({ partition, offset });
  }
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (this.refuseCommits > 0) {
      this.refuseCommits--;
      return Promise.reject(new CommitNotAcknowledgedError(offsets));
    }
    this.commits.push([...offsets]);
    return Promise.resolve();
  }
  /** The admin calls the worker makes, answered from the commits so far. */
  admin() {
    return {
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      fetchTopicOffsets: () =>
        Promise.resolve(
          [0, 1].map((partition) => ({ partition, offset: "100", high: "100", low: "0" })),
        ),
      fetchOffsets: () =>
        Promise.resolve([{
          topic: TOPIC,
          partitions: [0, 1].map((partition) => ({
            partition,
            offset: String(this.committed(partition) ?? -1),
            metadata: null,
          })),
        }]),
    };
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  /** Offers messages of `partition` at `offsets`; returns how many were gone through. */
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

function job(campaignId = crypto.randomUUID(), priority = 1): JobEvent {
  return createJobEvent({
    type: "job.email.welcome",
    accountId: crypto.randomUUID(),
    campaignId,
    data: { type: "welcome", campaign_id: campaignId, user_id: crypto.randomUUID(), priority },
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
    admin: consumer.admin(),
  });
  return { worker, consumer };
}

function gate() {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { promise, open: () => resolve() };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

/**
 * Plays kafkajs's part of a partition over time: offers `log` from its start
 * and, whenever the worker seeks, again from the sought offset, until no new
 * seek comes for a while.
 */
async function drive(
  consumer: FakeConsumer,
  partition: number,
  log: { offset: number; event: JobEvent }[],
): Promise<void> {
  let position = 0;
  let seen = consumer.seeks.length;
  for (let quiet = 0; quiet < 40;) {
    if (position < log.length) position += consumer.offer(partition, log.slice(position));
    await tick();
    const seek = consumer.seeks.slice(seen).findLast((s) => s.partition === partition);
    seen = consumer.seeks.length;
    if (seek) {
      position = log.findIndex((entry) => entry.offset >= seek.offset);
      quiet = 0;
    } else if (position >= log.length) quiet++;
  }
}

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
  assert.equal(seen.includes(queued.id), false, "the queued job is left to fetch again");
  consumer.listener.onAssigned({ [TOPIC]: [0, 1] });
  await tick();
  assert.equal(consumer.offer(0, [{ offset: 1, event: job() }]), 1);
  // kafkajs fetches partition 1 again from its commit: the queued job runs now.
  assert.equal(consumer.offer(1, [{ offset: 1, event: queued }]), 1);
  await tick();
  await worker.stop();
  assert.equal(consumer.committed(0), 2);
  assert.equal(consumer.committed(1), 2);
  assert.deepEqual(seen.filter((id) => id === queued.id), [queued.id]);
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
  await tick();
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

Deno.test("a key at its buffer cap defers its later messages and is fetched again as it drains", async () => {
  const hold = gate();
  const busy = crypto.randomUUID();
  const ran: number[] = [];
  const { worker, consumer } = await start({
    "job.email.welcome": (event) => {
      if (event.campaign_id !== busy || event.type !== "job.email.welcome") {
        return Promise.resolve();
      }
      ran.push(event.data.priority);
      return hold.promise;
    },
  }, { KAFKA_WORKER_BUFFER_SIZE: "8", KAFKA_WORKER_POOL_SIZE: "2" });
  const backlog = Array.from({ length: 6 }, (_, offset) => ({ offset, event: job(busy, offset) }));
  const other = Array.from({ length: 4 }, (_, i) => ({ offset: 6 + i, event: job() }));
  assert.equal(consumer.offer(0, [...backlog, ...other]), 10, "nothing waits for the busy key");
  assert.deepEqual([...consumer.pausedPartitions], [], "no partition pauses");
  await tick();
  assert.equal(consumer.committed(0), undefined);
  hold.open();
  await tick();
  assert.deepEqual(consumer.seeks[0], { partition: 0, offset: 2 }, "rewound to the first deferred");
  await drive(consumer, 0, [...backlog, ...other]);
  await worker.stop();
  assert.deepEqual(ran, [0, 1, 2, 3, 4, 5], "the busy key ran in order, each once");
  assert.equal(consumer.committed(0), 10);
});

Deno.test("a waiting key holds one message: its followers leave memory and other keys fill the buffer", async () => {
  const waiting = crypto.randomUUID();
  let held = true;
  const seen: string[] = [];
  const { worker, consumer } = await start({
    "job.email.welcome": (event) => {
      seen.push(event.id);
      if (event.campaign_id === waiting && held) {
        return Promise.reject(new LeaseHeldError("held elsewhere", { retryAfterMs: 20 }));
      }
      return Promise.resolve();
    },
  }, { KAFKA_WORKER_BUFFER_SIZE: "8", KAFKA_WORKER_POOL_SIZE: "2" });
  const blocked = [0, 1].map((offset) => ({ offset, event: job(waiting) }));
  assert.equal(consumer.offer(0, blocked), 2);
  await tick();
  const others = Array.from({ length: 30 }, (_, i) => ({ offset: 2 + i, event: job() }));
  let offered = 0;
  while (offered < others.length) {
    offered += consumer.offer(0, others.slice(offered));
    await tick();
  }
  assert.equal(consumer.committed(0), undefined, "the waiting key holds the commit point");
  held = false;
  await drive(consumer, 0, [...blocked, ...others]);
  assert.deepEqual(consumer.seeks[0], { partition: 0, offset: 1 }, "rewound to the follower");
  await worker.stop();
  assert.equal(consumer.committed(0), 32);
  assert.equal(new Set(seen).size, 32, "every job ran");
});

Deno.test("a commit the broker did not acknowledge is sent again", async () => {
  const { worker, consumer } = await start({
    "job.email.welcome": () => Promise.resolve(),
  });
  consumer.offer(0, [job(), job()].map((event, offset) => ({ offset, event })));
  await tick();
  consumer.refuseCommits = 1;
  consumer.listener.onRebalancing();
  await tick();
  assert.equal(consumer.committed(0), undefined);
  consumer.listener.onRebalancing();
  await tick();
  assert.equal(consumer.committed(0), 2, "the refused commit went out with the next one");
  await worker.stop();
});

Deno.test("worker runs a fetch's jobs only after the fetch loop's own promise work (its next fetch)", async () => {
  const started: string[] = [];
  const { worker, consumer } = await start({
    "job.email.welcome": (event) => {
      started.push(event.id);
      return Promise.resolve();
    },
  });
  const event = job();
  assert.equal(consumer.offer(0, [{ offset: 0, event }]), 1);
  await Promise.resolve();
  assert.deepEqual(started, [], "a job started inside the hand-off or its microtasks");
  await tick();
  assert.deepEqual(started, [event.id]);
  await worker.stop();
});
