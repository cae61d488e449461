import assert from "node:assert/strict";
import { FakeClock } from "./clock.ts";
import { type ReconcileResult, runController } from "./controller.ts";
import { createOperatorMetrics } from "./metrics.ts";
import { WorkQueue } from "./work_queue.ts";

Deno.test("runController: retries failures with backoff, honours requeueAfter, resyncs", async () => {
  const clock = new FakeClock();
  const queue = new WorkQueue({ clock, baseBackoffMs: 100 });
  const metrics = createOperatorMetrics();
  const calls: string[] = [];
  let failuresLeft = 2;
  let running = 0;
  let maxRunning = 0;
  const reconciler = {
    async reconcile(key: string): Promise<ReconcileResult> {
      calls.push(key);
      running++;
      maxRunning = Math.max(maxRunning, running);
      await Promise.resolve();
      running--;
      if (key === "ns/flaky" && failuresLeft-- > 0) throw new Error("API server busy");
      if (key === "ns/later") return { requeueAfterMs: 1_000 };
      return {};
    },
  };
  const stop = new AbortController();
  const done = runController({
    queue,
    reconciler,
    metrics,
    clock,
    concurrency: 2,
    resyncPeriodMs: 10_000,
    resyncKeys: () => ["ns/a"],
  }, stop.signal);
  queue.add("ns/flaky");
  queue.add("ns/later");
  await clock.advance(0);
  assert.deepEqual(calls.sort(), ["ns/flaky", "ns/later"]);
  await clock.advance(100);
  assert.equal(calls.filter((k) => k === "ns/flaky").length, 2, "first retry after 100 ms");
  await clock.advance(200);
  assert.equal(calls.filter((k) => k === "ns/flaky").length, 3, "second retry after 200 ms");
  assert.equal(queue.failures("ns/flaky"), 0, "forgotten after success");
  await clock.advance(700);
  assert.equal(calls.filter((k) => k === "ns/later").length, 2, "requeued after 1 s");
  await clock.advance(9_000);
  assert.ok(calls.includes("ns/a"), "resync queued every known key");
  assert.ok(maxRunning <= 2);
  const text = await metrics.registry.getSingleMetricAsString(
    "jobpool_operator_reconcile_errors_total",
  );
  assert.match(text, /jobpool_operator_reconcile_errors_total 2/);
  stop.abort();
  await clock.advance(0);
  await done;
});
