import assert from "node:assert/strict";
import { createJobEvent, JobDecodeError } from "../jobs/mod.ts";
import { legacyEventId, legacyJobEvent } from "./mapping.ts";

const options = {
  prefix: "bull",
  queue: "jobs",
  jobNames: { "send-welcome": "job.email.welcome" as const },
};
const campaign = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f";
const account = "0b7e9c1d-2a3f-4e5d-8c6b-7a8f9e0d1c2b";
const user = "9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b";

Deno.test("an envelope in the job's data is the event as it is", async () => {
  const event = createJobEvent({
    type: "job.reward.deliver",
    accountId: account,
    campaignId: campaign,
    data: { user_reward_id: user },
  });
  const read = await legacyJobEvent(
    { id: event.id, name: event.type, data: event, timestamp: 0 },
    options,
  );
  assert.deepEqual(read, event);
});

Deno.test("a legacy job: name → type, data → data, a deterministic id, the job's time", async () => {
  const job = {
    id: "17",
    name: "send-welcome",
    data: { account_id: account, campaign_id: campaign, user_id: user },
    timestamp: Date.parse("2026-01-02T03:04:05Z"),
  };
  const event = await legacyJobEvent(job, options);
  assert.deepEqual(event, {
    id: await legacyEventId(job, options),
    type: "job.email.welcome",
    account_id: account,
    campaign_id: campaign,
    data: { type: "welcome", campaign_id: campaign, user_id: user, priority: 1 },
    timestamp: "2026-01-02T03:04:05.000Z",
  });
  assert.equal(event.id, (await legacyJobEvent(job, options)).id, "the same job, the same id");
  assert.notEqual(event.id, (await legacyJobEvent({ ...job, id: "18" }, options)).id);
  const reward = await legacyJobEvent({
    ...job,
    name: "job.reward.deliver",
    data: { account_id: account, campaign_id: campaign, user_reward_id: user },
  }, options);
  assert.deepEqual(reward.data, { user_reward_id: user });
});

Deno.test("jobs that are no events name the field", async () => {
  const base = { id: "1", timestamp: 0 };
  const cases: [Parameters<typeof legacyJobEvent>[0], string][] = [
    [{ ...base, name: "send-sms", data: {} }, "type"],
    [{ ...base, name: "job.email.welcome", data: [1] }, "data"],
    [
      { ...base, name: "job.email.welcome", data: { campaign_id: campaign, user_id: user } },
      "account_id",
    ],
    [
      {
        ...base,
        name: "job.email.welcome",
        data: { account_id: account, campaign_id: campaign, user_id: 7 },
      },
      "data.user_id",
    ],
  ];
  for (const [job, field] of cases) {
    await assert.rejects(
      legacyJobEvent(job, options),
      (error) => error instanceof JobDecodeError && error.field === field,
      `expected ${field}`,
    );
  }
});
