import assert from "node:assert/strict";
import { nextPoolSize, type PoolSample, startAdaptivePool } from "./adaptive.ts";

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
