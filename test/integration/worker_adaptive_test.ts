import assert from "node:assert/strict";
import { startAdaptivePool } from "../../src/worker/adaptive.ts";
import { runWorker } from "../../src/worker/mod.ts";
import { emailJob, produce, setupTopic, waitUntil } from "./fixtures/worker_harness.ts";

Deno.test("adaptive pool grows while lag grows and shrinks back when it is gone", async () => {
  const config = await setupTopic("worker_adaptive", {
    partitions: 2,
    env: {
      KAFKA_WORKER_POOL_SIZE: "1",
      KAFKA_WORKER_POOL_MIN: "1",
      KAFKA_WORKER_POOL_MAX: "8",
    },
  });
  const handled = new Set<string>();
  const sizes: number[] = [];
  const worker = await runWorker({
    config,
    lagRefreshMs: 200,
    group: { maxWaitTimeMs: 200 },
    handlers: {
      "job.email.welcome": async (job) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        handled.add(job.id);
      },
    },
  });
  const adaptive = startAdaptivePool({ worker, config: config.worker, intervalMs: 300 });
  const track = setInterval(() => sizes.push(worker.poolSize), 50);
  try {
    const campaigns = Array.from({ length: 50 }, () => crypto.randomUUID());
    let produced = 0;
    // About 150 jobs a second against one slot's 50: the lag keeps growing.
    while (Math.max(...sizes, 1) === 1 && produced < 3_000) {
      const jobs = Array.from({ length: 30 }, (_, i) => emailJob(campaigns[i % 50]!));
      await produce(config, jobs);
      produced += jobs.length;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok(Math.max(...sizes) > 1, "the pool never grew");
    await waitUntil(() => handled.size === produced, "every job", 25_000);
    await waitUntil(() => worker.poolSize === 1, "the pool to shrink back to its minimum");
  } finally {
    clearInterval(track);
    adaptive.stop();
    await worker.stop();
  }
});
