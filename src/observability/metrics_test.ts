import assert from "node:assert/strict";
import { createWorkerMetrics } from "./metrics.ts";

async function value(
  metrics: ReturnType<typeof createWorkerMetrics>,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const metric = metrics.registry.getSingleMetric(name);
  assert.ok(metric, `metric ${name} is registered`);
  const { values } = await metric.get();
  const match = values.find((entry) =>
    Object.entries(labels).every(([key, expected]) => String(entry.labels[key]) === expected)
  );
  return match?.value;
}

Deno.test("a succeeded job counts, is timed and leaves the in-flight gauge", async () => {
  const metrics = createWorkerMetrics();
  metrics.jobStarted("job.email.welcome");
  assert.equal(await value(metrics, "jobpool_jobs_in_flight", { type: "job.email.welcome" }), 1);
  metrics.jobFinished("job.email.welcome", "succeeded", 0.2);
  assert.equal(await value(metrics, "jobpool_jobs_in_flight", { type: "job.email.welcome" }), 0);
  assert.equal(
    await value(metrics, "jobpool_jobs_processed_total", {
      type: "job.email.welcome",
      outcome: "succeeded",
    }),
    1,
  );
  const text = await metrics.registry.metrics();
  assert.match(text, /jobpool_job_duration_seconds_count\{type="job.email.welcome"\} 1/);
  assert.match(text, /jobpool_job_duration_seconds_sum\{type="job.email.welcome"\} 0.2/);
});

Deno.test("retries and dead letters have their own counters", async () => {
  const metrics = createWorkerMetrics();
  for (const outcome of ["retried", "retried", "dead_lettered"] as const) {
    metrics.jobStarted("job.reward.deliver");
    metrics.jobFinished("job.reward.deliver", outcome, 0.01);
  }
  assert.equal(
    await value(metrics, "jobpool_job_retries_total", { type: "job.reward.deliver" }),
    2,
  );
  assert.equal(
    await value(metrics, "jobpool_dead_letters_total", { type: "job.reward.deliver" }),
    1,
  );
  assert.equal(await value(metrics, "jobpool_jobs_in_flight", { type: "job.reward.deliver" }), 0);
});

Deno.test("a skipped job is counted but neither timed nor in flight", async () => {
  const metrics = createWorkerMetrics();
  metrics.jobFinished("job.position.recalculate", "skipped", 0);
  assert.equal(
    await value(metrics, "jobpool_jobs_processed_total", {
      type: "job.position.recalculate",
      outcome: "skipped",
    }),
    1,
  );
  const text = await metrics.registry.metrics();
  assert.doesNotMatch(text, /jobpool_jobs_in_flight\{type="job.position.recalculate"\}/);
  assert.doesNotMatch(text, /jobpool_job_duration_seconds_count\{type="job.position/);
});

Deno.test("pool size, buffer and lag gauges hold what was set", async () => {
  const metrics = createWorkerMetrics();
  metrics.setPoolSize(10);
  metrics.setBuffered(42);
  metrics.setLag("job-events", 3, 17);
  assert.equal(await value(metrics, "jobpool_worker_pool_size"), 10);
  assert.equal(await value(metrics, "jobpool_worker_buffered_messages"), 42);
  assert.equal(
    await value(metrics, "jobpool_consumer_lag", { topic: "job-events", partition: "3" }),
    17,
  );
});

Deno.test("each call makes its own registry with the default process metrics", async () => {
  const first = createWorkerMetrics();
  const second = createWorkerMetrics();
  assert.notEqual(first.registry, second.registry);
  first.setPoolSize(5);
  assert.equal(await value(second, "jobpool_worker_pool_size"), 0);
  assert.match(await first.registry.metrics(), /process_resident_memory_bytes/);
});

Deno.test("every scrape reads the counts as they are, however often it runs", async () => {
  const metrics = createWorkerMetrics();
  metrics.jobStarted("job.email.welcome");
  metrics.jobFinished("job.email.welcome", "retried", 0.01);
  metrics.jobStarted("job.email.welcome");
  // Process metrics move between scrapes; jobpool's must not.
  const jobLines = async () =>
    (await metrics.registry.metrics()).split("\n").filter((line) => line.startsWith("jobpool_"));
  const first = await jobLines();
  assert.ok(first.length > 0);
  assert.deepEqual(await jobLines(), first);
  assert.equal(await value(metrics, "jobpool_job_retries_total", { type: "job.email.welcome" }), 1);
  assert.equal(await value(metrics, "jobpool_jobs_in_flight", { type: "job.email.welcome" }), 1);
  metrics.jobFinished("job.email.welcome", "succeeded", 0.02);
  assert.equal(
    await value(metrics, "jobpool_jobs_processed_total", {
      type: "job.email.welcome",
      outcome: "retried",
    }),
    1,
  );
  assert.equal(
    await value(metrics, "jobpool_jobs_processed_total", {
      type: "job.email.welcome",
      outcome: "succeeded",
    }),
    1,
  );
  assert.equal(await value(metrics, "jobpool_jobs_in_flight", { type: "job.email.welcome" }), 0);
  assert.match(
    await metrics.registry.metrics(),
    /jobpool_job_duration_seconds_count\{type="job.email.welcome"\} 2/,
  );
});
