import assert from "node:assert/strict";
import { createJobEvent, JOB_HEADERS, JobDecodeError, toJobMessage } from "./mod.ts";

const campaignId = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f";
const accountId = "0b7e9c1d-2a3f-4e5d-8c6b-7a8f9e0d1c2b";

Deno.test("createJobEvent fills id and timestamp and validates", () => {
  const event = createJobEvent({
    type: "job.position.recalculate",
    accountId,
    campaignId,
    data: { campaign_id: campaignId, points_per_referral: 2 },
    timestamp: new Date("2025-01-01T12:00:00Z"),
  });
  assert.match(event.id, /^[0-9a-f-]{36}$/);
  assert.equal(event.timestamp, "2025-01-01T12:00:00.000Z");
  assert.equal(event.campaign_id, campaignId);
});

Deno.test("createJobEvent rejects invalid input naming the field", () => {
  assert.throws(
    () =>
      createJobEvent({
        type: "job.position.recalculate",
        accountId,
        campaignId,
        data: { campaign_id: campaignId, points_per_referral: -1 },
      }),
    (error: unknown) =>
      error instanceof JobDecodeError && error.field === "data.points_per_referral",
  );
});

Deno.test("toJobMessage keys by campaign and sets type and id headers", () => {
  const event = createJobEvent({
    type: "job.reward.deliver",
    accountId,
    campaignId,
    data: { user_reward_id: accountId },
  });
  const message = toJobMessage(event);
  assert.equal(message.key, campaignId);
  assert.equal(message.headers[JOB_HEADERS.type], "job.reward.deliver");
  assert.equal(message.headers[JOB_HEADERS.id], event.id);
  assert.deepEqual(JSON.parse(message.value), event);
});
