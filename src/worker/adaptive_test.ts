import assert from "node:assert/strict";
import { nextBaseline, nextPoolSize, type PoolSample, startAdaptivePool } from "./adaptive.ts";

const base: PoolSample = {
  size: 10,
  min: 4,
  max: 40,
  lag: 500,
  previousLag: 100,
  latencyMs: 20,
  baselineLatencyMs: 20,
  jobsPerSecond: 1000,
};

Deno.test("nextPoolSize grows while lag grows and latency holds", () => {
  assert.equal(nextPoolSize(base), 15);
  assert.equal(nextPoolSize({ ...base, size: 35 }), 40);
  assert.equal(nextPoolSize({ ...base, latencyMs: undefined }), 15);
});

Deno.test("nextPoolSize holds when latency climbs or lag stops growing", () => {
  assert.equal(nextPoolSize({ ...base, latencyMs: 100 }), 10);
  assert.equal(nextPoolSize({ ...base, lag: 100 }), 10);
  assert.equal(nextPoolSize({ ...base, lag: 50 }), 10);
});

Deno.test("nextPoolSize grows for a backlog that would drain too slowly, even if shrinking", () => {
  assert.equal(nextPoolSize({ ...base, lag: 5000, previousLag: 6000, jobsPerSecond: 10 }), 15);
  assert.equal(nextPoolSize({ ...base, lag: 5000, previousLag: 6000, jobsPerSecond: 1000 }), 10);
});

Deno.test("nextPoolSize shrinks when lag is gone, down to the minimum", () => {
  assert.equal(nextPoolSize({ ...base, lag: 0 }), 7);
  assert.equal(nextPoolSize({ ...base, lag: 0, size: 5 }), 4);
  assert.equal(nextPoolSize({ ...base, lag: 0, size: 4 }), 4);
});

Deno.test("nextPoolSize keeps a fixed pool fixed", () => {
  assert.equal(nextPoolSize({ ...base, min: 10, max: 10 }), 10);
  assert.equal(nextPoolSize({ ...base, min: 10, max: 10, lag: 0 }), 10);
});

Deno.test("startAdaptivePool resizes the worker on its interval", async () => {
  let size = 2;
  let lag = 100;
  const worker = {
    get poolSize() {
      return size;
    },
    resize: (next: number) => void (size = next),
    lag: () => [{ topic: "t", partition: 0, lag }],
    stats: () => ({ jobs: 0, totalMs: 0 }),
  };
  const adaptive = startAdaptivePool({ worker, config: { poolMin: 1, poolMax: 8 }, intervalMs: 5 });
  try {
    while (size < 8) await new Promise((resolve) => setTimeout(resolve, 5)).then(() => lag += 100);
    lag = 0;
    while (size > 1) await new Promise((resolve) => setTimeout(resolve, 5));
  } finally {
    adaptive.stop();
  }
  assert.equal(size, 1);
});

Deno.test("nextBaseline drops to a lower latency at once and drifts up toward a higher one", () => {
  assert.equal(nextBaseline(undefined, 30), 30);
  assert.equal(nextBaseline(30, 10), 10);
  assert.equal(nextBaseline(10, 110), 20);
});

Deno.test("startAdaptivePool grows again once jobs got slower for good", async () => {
  let size = 2;
  let lag = 100;
  let samples = 0;
  const stats = { jobs: 0, totalMs: 0 };
  const worker = {
    get poolSize() {
      return size;
    },
    resize: (next: number) => void (size = next),
    lag: () => [{ topic: "t", partition: 0, lag }],
    // One fast period, then every job takes 100 ms.
    stats: () => {
      const latencyMs = samples++ <= 1 ? 1 : 100;
      stats.jobs += 10;
      stats.totalMs += 10 * latencyMs;
      return { ...stats };
    },
  };
  const adaptive = startAdaptivePool({ worker, config: { poolMin: 1, poolMax: 8 }, intervalMs: 2 });
  try {
    while (samples < 3) await new Promise((resolve) => setTimeout(resolve, 2));
    const before = size;
    while (samples < 60) {
      await new Promise((resolve) => setTimeout(resolve, 2)).then(() => lag += 100);
    }
    assert.ok(size > before, `the pool never grew again (${before} -> ${size})`);
  } finally {
    adaptive.stop();
  }
});
