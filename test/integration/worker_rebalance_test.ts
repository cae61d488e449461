import assert from "node:assert/strict";
import type { WorkerMetrics } from "../../src/observability/metrics.ts";
import { runWorker } from "../../src/worker/mod.ts";
import { Registry } from "prom-client";
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
    registry: new Registry(),
    jobStarted: () => {},
    jobFinished: () => {},
    setPoolSize: () => {},
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
