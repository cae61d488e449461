import assert from "node:assert/strict";
import type { WorkerMetrics } from "../../src/observability/metrics.ts";
import { toJobMessage } from "../../src/jobs/mod.ts";
import { noopMetrics, runWorker } from "../../src/worker/mod.ts";
import {
  committedTotal,
  emailJob,
  produce,
  setupTopic,
  waitUntil,
} from "./fixtures/worker_harness.ts";

const group = { heartbeatIntervalMs: 500, maxWaitTimeMs: 500 };

/** Metrics that remember the largest buffer and every lag reported. */
function spyMetrics() {
  const lags: number[] = [];
  let maxBuffered = 0;
  const metrics: WorkerMetrics = {
    ...noopMetrics(),
    setBuffered: (count) => void (maxBuffered = Math.max(maxBuffered, count)),
    setLag: (_topic, _partition, lag) => void lags.push(lag),
  };
  return { metrics, lags, maxBuffered: () => maxBuffered };
}

Deno.test("worker stops fetching while its buffer is full and goes on when it drains", async () => {
  const config = await setupTopic("worker_backpressure", {
    partitions: 1,
    env: { KAFKA_WORKER_POOL_SIZE: "2", KAFKA_WORKER_BUFFER_SIZE: "8" },
  });
  const campaigns = Array.from({ length: 10 }, () => crypto.randomUUID());
  const jobs = Array.from({ length: 150 }, (_, i) => emailJob(campaigns[i % 10]!));
  await produce(config, jobs);
  const spy = spyMetrics();
  const handled = new Set<string>();
  const worker = await runWorker({
    config,
    group,
    metrics: spy.metrics,
    handlers: {
      "job.email.welcome": async (job) => {
        await new Promise((resolve) => setTimeout(resolve, 2));
        handled.add(job.id);
      },
    },
  });
  try {
    await waitUntil(() => handled.size === jobs.length, "every job");
    await waitUntil(async () => await committedTotal(config) === jobs.length, "the commit");
    // Queued (not running) jobs never exceed the buffer.
    assert.ok(spy.maxBuffered() <= 8, `buffered ${spy.maxBuffered()} > 8`);
    assert.ok(Math.max(...spy.lags) > 0, "lag was never reported");
    await waitUntil(() => spy.lags.at(-1) === 0, "the lag to fall to 0");
  } finally {
    await worker.stop();
  }
});

Deno.test("workers of one group share the partitions after a rebalance and finish every job", async () => {
  const config = await setupTopic("worker_rebalance", {
    partitions: 4,
    env: { KAFKA_WORKER_POOL_SIZE: "4" },
  });
  const campaigns = Array.from({ length: 40 }, () => crypto.randomUUID());
  const jobs = Array.from({ length: 300 }, (_, i) => emailJob(campaigns[i % 40]!));
  // A third before the second worker joins, the rest after, so both get work.
  await produce(config, jobs.slice(0, 100));
  const handledBy = { a: new Set<string>(), b: new Set<string>() };
  const handler = (seen: Set<string>) => async (job: { id: string }) => {
    await new Promise((resolve) => setTimeout(resolve, 15));
    seen.add(job.id);
  };
  const a = await runWorker({
    config,
    group,
    handlers: { "job.email.welcome": handler(handledBy.a) },
  });
  let b: Awaited<ReturnType<typeof runWorker>> | undefined;
  try {
    await waitUntil(() => handledBy.a.size >= 30, "the first worker to get going");
    b = await runWorker({ config, group, handlers: { "job.email.welcome": handler(handledBy.b) } });
    await produce(config, jobs.slice(100));
    const all = () => new Set([...handledBy.a, ...handledBy.b]);
    await waitUntil(() => all().size === jobs.length, "every job", 25_000);
    await waitUntil(async () => await committedTotal(config) === jobs.length, "the commit");
    assert.ok(a.joins >= 2, "the first worker never saw the rebalance");
    assert.ok(handledBy.b.size > 0, "the second worker got no work");
    for (const lag of [...a.lag(), ...b.lag()]) assert.equal(lag.lag, 0);
    assert.equal(a.lag().length + b.lag().length, 4, "each partition has exactly one owner");
  } finally {
    await Promise.all([a.stop(), b?.stop()]);
  }
});

Deno.test("a rebalance lets running jobs finish and commit first: no job runs twice, at once or again", async () => {
  const config = await setupTopic("worker_rebalance_drain", {
    partitions: 2,
    env: { KAFKA_WORKER_POOL_SIZE: "6", KAFKA_WORKER_BUFFER_SIZE: "6" },
  });
  const jobs = Array.from({ length: 17 }, () => emailJob(crypto.randomUUID()));
  const partitionOf = new Map(jobs.map((job, i) => [job.id, i < 3 ? 0 : 1]));
  const send = (partition: number) =>
    produce(
      config,
      jobs.filter((job) => partitionOf.get(job.id) === partition)
        .map((job) => ({ ...toJobMessage(job), partition })),
    );
  const running = new Map<string, number>();
  const runs = new Map<string, number>();
  let overlaps = 0;
  let finishedInFirstGeneration = 0;
  const runningOn = (partition: number) =>
    [...running].some(([id, count]) => count > 0 && partitionOf.get(id) === partition);
  const first: { worker?: Awaited<ReturnType<typeof runWorker>> } = {};
  const handler = (isFirst: boolean) => async (job: { id: string }) => {
    const now = (running.get(job.id) ?? 0) + 1;
    if (now > 1) overlaps++;
    running.set(job.id, now);
    runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    running.set(job.id, (running.get(job.id) ?? 1) - 1);
    if (isFirst && first.worker?.joins === 1) finishedInFirstGeneration++;
  };
  await send(0);
  const a = await runWorker({ config, group, handlers: { "job.email.welcome": handler(true) } });
  first.worker = a;
  let b: Awaited<ReturnType<typeof runWorker>> | undefined;
  try {
    // Partition 0's few jobs run, then partition 1's many fill the buffer:
    // the group's rebalance finds the first worker waiting for room, with
    // jobs of both partitions running.
    await waitUntil(() => runningOn(0), "jobs of partition 0 running");
    await send(1);
    await waitUntil(() => runningOn(0) && runningOn(1), "jobs of both partitions running");
    b = await runWorker({ config, group, handlers: { "job.email.welcome": handler(false) } });
    // The first worker committed what it finished before the group re-formed.
    assert.ok(
      await committedTotal(config) >= finishedInFirstGeneration,
      "work finished before the rebalance was not committed",
    );
    const settled = () => runs.size === jobs.length && [...running.values()].every((n) => n === 0);
    await waitUntil(settled, "every job", 30_000);
    await waitUntil(async () => await committedTotal(config) === jobs.length, "the commit");
    assert.equal(overlaps, 0, "a job ran on two members at once");
    assert.deepEqual(
      [...runs.values()].filter((count) => count > 1),
      [],
      "a finished job ran again",
    );
  } finally {
    await Promise.all([a.stop(), b?.stop()]);
  }
});
