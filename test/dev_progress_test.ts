import assert from "node:assert/strict";
import { formatProgress, parseProcessedJobs } from "./dev_progress.ts";

const METRICS = `# HELP jobpool_jobs_processed_total Jobs finished
# TYPE jobpool_jobs_processed_total counter
jobpool_jobs_processed_total{type="job.email.welcome",outcome="succeeded"} 17
jobpool_jobs_processed_total{type="job.email.welcome",outcome="retried"} 2
jobpool_jobs_processed_total{type="job.reward.deliver",outcome="dead_lettered"} 1
jobpool_job_duration_seconds_bucket{type="job.email.welcome",le="0.1"} 3
`;

Deno.test("parses processed jobs by type and outcome", () => {
  const processed = parseProcessedJobs(METRICS);
  assert.equal(processed.get("job.email.welcome")?.get("succeeded"), 17);
  assert.equal(processed.get("job.reward.deliver")?.get("dead_lettered"), 1);
  assert.equal(processed.size, 2);
});

Deno.test("formats one progress line", () => {
  const line = formatProgress({ sent: 40, processed: parseProcessedJobs(METRICS), lag: 3 });
  assert.equal(
    line,
    "sent 40 | processed: email.welcome 17, reward.deliver 0 | retried 2 | dead-lettered 1 | lag 3",
  );
  assert.match(formatProgress({ sent: 0, processed: new Map(), lag: undefined }), /none yet/);
});
