import assert from "node:assert/strict";
import {
  addCounts,
  countsIncrease,
  histogramQuantile,
  type TypeCounts,
  workerCounts,
} from "./job_counts.ts";
import { parsePrometheusText } from "./prometheus_text.ts";

const type = 'type="job.email.welcome"';

function scrape(succeeded: number, retried: number, buckets: [string, number][]) {
  return workerCounts(parsePrometheusText([
    `jobpool_jobs_processed_total{${type},outcome="succeeded"} ${succeeded}`,
    `jobpool_jobs_processed_total{${type},outcome="retried"} ${retried}`,
    ...buckets.map(([le, n]) => `jobpool_job_duration_seconds_bucket{le="${le}",${type}} ${n}`),
    `jobpool_job_duration_seconds_sum{${type}} 1`,
    `jobpool_jobs_in_flight{${type}} 2`,
    "process_cpu_seconds_total 3",
  ].join("\n")));
}

Deno.test("a scrape is read into counters by type, histogram and in-flight jobs", () => {
  const counts = scrape(5, 1, [["0.1", 2], ["1", 6], ["+Inf", 6]]);
  const welcome = counts.byType.get("job.email.welcome");
  assert.deepEqual(welcome?.outcomes, { succeeded: 5, retried: 1 });
  assert.deepEqual([...welcome?.buckets ?? []], [[0.1, 2], [1, 6], [Infinity, 6]]);
  assert.equal(counts.inFlight.get("job.email.welcome"), 2);
});

Deno.test("the increase between scrapes, and a restart counts from zero", () => {
  const first = scrape(5, 1, [["1", 6], ["+Inf", 6]]).byType;
  const second = scrape(9, 1, [["1", 10], ["+Inf", 10]]).byType;
  const up = countsIncrease(first, second).get("job.email.welcome");
  assert.deepEqual(up?.outcomes, { succeeded: 4, retried: 0 });
  assert.equal(up?.buckets.get(Infinity), 4);
  const restarted = scrape(2, 0, [["1", 2], ["+Inf", 2]]).byType;
  const afterRestart = countsIncrease(second, restarted).get("job.email.welcome");
  assert.deepEqual(afterRestart?.outcomes, { succeeded: 2, retried: 0 });
  assert.equal(afterRestart?.buckets.get(Infinity), 2);
});

Deno.test("counts of several workers add up", () => {
  const total = new Map<string, TypeCounts>();
  addCounts(total, scrape(1, 0, [["+Inf", 1]]).byType);
  addCounts(total, scrape(2, 3, [["+Inf", 5]]).byType);
  assert.deepEqual(total.get("job.email.welcome")?.outcomes, { succeeded: 3, retried: 3 });
  assert.equal(total.get("job.email.welcome")?.buckets.get(Infinity), 6);
});

Deno.test("quantiles interpolate inside a bucket as Prometheus does", () => {
  const buckets = new Map([[0.1, 50], [1, 100], [Infinity, 100]]);
  assert.equal(histogramQuantile(0.5, buckets), 0.1);
  assert.ok(Math.abs((histogramQuantile(0.75, buckets) ?? 0) - 0.55) < 1e-9);
  assert.equal(histogramQuantile(0.99, new Map([[1, 10], [Infinity, 20]])), 1);
  assert.equal(histogramQuantile(0.5, new Map([[1, 0], [Infinity, 0]])), undefined);
});
