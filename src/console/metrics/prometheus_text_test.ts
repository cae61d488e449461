import assert from "node:assert/strict";
import { Counter, Histogram, Registry } from "prom-client";
import { parsePrometheusText } from "./prometheus_text.ts";

Deno.test("parses what prom-client serves, labels and histograms included", async () => {
  const registry = new Registry();
  const counter = new Counter({
    name: "jobpool_jobs_processed_total",
    help: "h",
    labelNames: ["type", "outcome"],
    registers: [registry],
  });
  const histogram = new Histogram({
    name: "jobpool_job_duration_seconds",
    help: "h",
    labelNames: ["type"],
    buckets: [0.1, 1],
    registers: [registry],
  });
  counter.inc({ type: "job.email.welcome", outcome: "succeeded" }, 3);
  histogram.observe({ type: "job.email.welcome" }, 0.5);
  const samples = parsePrometheusText(await registry.metrics(), ["jobpool_"]);
  assert.deepEqual(samples.find((s) => s.name === "jobpool_jobs_processed_total"), {
    name: "jobpool_jobs_processed_total",
    labels: { type: "job.email.welcome", outcome: "succeeded" },
    value: 3,
  });
  const buckets = samples.filter((s) => s.name === "jobpool_job_duration_seconds_bucket");
  assert.deepEqual(buckets.map((b) => [b.labels.le, b.value]), [["0.1", 0], ["1", 1], ["+Inf", 1]]);
});

Deno.test("unescapes label values, reads special values and keeps only the prefixes asked for", () => {
  const text = [
    "# HELP x y",
    'a_metric{path="C:\\\\x",msg="say \\"hi\\"\\nthere"} +Inf 1700000000',
    "a_other NaN",
    "process_cpu_seconds_total 1.5e2",
    "",
  ].join("\n");
  const samples = parsePrometheusText(text, ["a_"]);
  assert.deepEqual(samples[0]?.labels, { path: "C:\\x", msg: 'say "hi"\nthere' });
  assert.equal(samples[0]?.value, Infinity);
  assert.ok(Number.isNaN(samples[1]?.value));
  assert.equal(samples.length, 2);
  assert.equal(parsePrometheusText(text)[2]?.value, 150);
});

Deno.test("a line that is not a sample is an error naming the line", () => {
  assert.throws(() => parsePrometheusText("ok 1\nbroken{a=1} 2"), /line 2 is not a sample/);
  assert.throws(() => parsePrometheusText("no_value"), /expected a number/);
});
