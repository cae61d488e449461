import assert from "node:assert/strict";
import { expandJobTypePatterns, isJobType, JOB_TYPES, matchesJobType } from "./mod.ts";

Deno.test("matchesJobType handles exact types, prefixes and *", () => {
  assert.ok(matchesJobType("job.email.welcome", "job.email.welcome"));
  assert.ok(matchesJobType("job.email.welcome", "job.email.*"));
  assert.ok(!matchesJobType("job.emailx.welcome", "job.email.*"));
  assert.ok(matchesJobType("job.reward.deliver", "*"));
  assert.ok(!matchesJobType("job.reward.deliver", "job.email.*"));
});

Deno.test("expandJobTypePatterns lists the matching known types", () => {
  assert.equal(expandJobTypePatterns(["job.email.*"]).length, 5);
  assert.deepEqual(expandJobTypePatterns(["*"]), [...JOB_TYPES]);
  assert.deepEqual(expandJobTypePatterns(["job.nope"]), []);
});

Deno.test("isJobType accepts only known types", () => {
  assert.ok(isJobType("job.position.recalculate"));
  assert.ok(!isJobType("job.position"));
  assert.ok(!isJobType(42));
});
