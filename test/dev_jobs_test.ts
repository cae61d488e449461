import assert from "node:assert/strict";
import { JOB_TYPES, validateJobEvent } from "../src/jobs/mod.ts";
import { createJobEvent } from "../src/jobs/mod.ts";
import { sampleJobs } from "./dev_jobs.ts";

Deno.test("the sample stream covers every job type with valid jobs", () => {
  const campaign = () => ({
    accountId: crypto.randomUUID(),
    campaignId: crypto.randomUUID(),
    pointsPerReferral: 2,
    userIds: [crypto.randomUUID(), crypto.randomUUID()],
    userRewardIds: [crypto.randomUUID()],
    rewardedUserIds: [crypto.randomUUID()],
  });
  const demos = [campaign(), campaign()];
  const jobs = sampleJobs(demos);
  const seen = new Set<string>();
  const campaigns = new Set<string>();
  for (let i = 0; i < 28; i++) {
    const job = jobs.next().value;
    validateJobEvent(createJobEvent(job));
    seen.add(job.type);
    campaigns.add(job.campaignId);
  }
  assert.deepEqual([...seen].sort(), [...JOB_TYPES].sort());
  assert.equal(campaigns.size, 2);
});
