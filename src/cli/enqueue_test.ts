import assert from "node:assert/strict";
import { UsageError } from "./common.ts";
import { parseEnqueueArgs } from "./enqueue.ts";

const campaign = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f";
const user = "9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b";

Deno.test("parses an email job with its user and priority", () => {
  const parsed = parseEnqueueArgs([
    "job.email.welcome",
    "--campaign",
    campaign,
    "--user",
    user,
    "--priority",
    "3",
    "--count",
    "2",
  ]);
  assert.equal(parsed.jobs.length, 2);
  assert.deepEqual(parsed.jobs[0]?.data, {
    type: "welcome",
    campaign_id: campaign,
    user_id: user,
    priority: 3,
  });
});

Deno.test("parses recalculation and reward jobs", () => {
  const recalc = parseEnqueueArgs([
    "job.position.recalculate",
    "--campaign",
    campaign,
    "--points",
    "5",
  ]);
  assert.deepEqual(recalc.jobs[0]?.data, { campaign_id: campaign, points_per_referral: 5 });
  const reward = parseEnqueueArgs([
    "job.reward.deliver",
    "--campaign",
    campaign,
    "--user-reward",
    user,
  ]);
  assert.deepEqual(reward.jobs[0]?.data, { user_reward_id: user });
});

Deno.test("missing or bad arguments name the flag", () => {
  assert.throws(() => parseEnqueueArgs(["job.email.welcome", "--campaign", campaign]), /--user/);
  assert.throws(() => parseEnqueueArgs(["job.sms"]), UsageError);
  assert.throws(
    () => parseEnqueueArgs(["job.position.recalculate", "--campaign", campaign, "--points", "x"]),
    /--points must be a whole number/,
  );
  assert.equal(parseEnqueueArgs(["--help"]).help, true);
});

Deno.test("--transport overrides the routing for one run, and names what it accepts", () => {
  const args = ["job.email.welcome", "--campaign", campaign, "--user", user];
  assert.equal(parseEnqueueArgs([...args, "--transport", "both"]).transport, "both");
  assert.equal(parseEnqueueArgs(args).transport, undefined);
  assert.throws(
    () => parseEnqueueArgs([...args, "--transport", "redis"]),
    /--transport must be one of kafka, bullmq, both, got "redis"/,
  );
});
