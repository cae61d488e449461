import assert from "node:assert/strict";
import { Histogram, Registry } from "prom-client";
import { TypeHistogram } from "./type_histogram.ts";

const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const options = { name: "jobpool_job_duration_seconds", help: "Time a job's handler ran", buckets };

/** Observations on every bound, between bounds, below the first and above the last. */
function observations(): [string, number][] {
  const values = [0, 0.001, ...buckets, ...buckets.map((bound) => bound * 1.5), 1e6];
  return values.flatMap((value, i) =>
    [
      ["job.email.welcome", value],
      [i % 3 === 0 ? "job.reward.deliver" : "job.email.welcome", value / 3],
    ] as [string, number][]
  );
}

Deno.test("a TypeHistogram reads in its registry exactly as prom-client's histogram does", async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const histogram = new TypeHistogram({ ...options, registers: [ours] });
  const reference = new Histogram({ ...options, labelNames: ["type"], registers: [theirs] });
  assert.equal(await ours.metrics(), await theirs.metrics());
  for (const [type, value] of observations()) {
    histogram.observe(type, value);
    reference.observe({ type }, value);
  }
  assert.equal(await ours.metrics(), await theirs.metrics());
  // prom-client's values carry `exemplar: undefined`; as JSON they are the same.
  const json = async (registry: Registry) =>
    JSON.parse(JSON.stringify(await registry.getMetricsAsJSON()));
  assert.deepEqual(await json(ours), await json(theirs));
  ours.resetMetrics();
  theirs.resetMetrics();
  assert.equal(await ours.metrics(), await theirs.metrics());
});

Deno.test("a TypeHistogram refuses what is not a finite number and unordered buckets", () => {
  const histogram = new TypeHistogram({ ...options, registers: [] });
  assert.throws(() => histogram.observe("job.email.welcome", Number.NaN), TypeError);
  assert.throws(() => histogram.observe("job.email.welcome", Infinity), TypeError);
  assert.throws(
    () => new TypeHistogram({ ...options, buckets: [1, 0.5], registers: [] }),
    /Invalid buckets of jobpool_job_duration_seconds/,
  );
});
