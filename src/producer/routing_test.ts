import assert from "node:assert/strict";
import { createJobEvent, type JobEvent } from "../jobs/mod.ts";
import { EnqueueError, routedSender, splitByTransport } from "./routing.ts";

const campaign = crypto.randomUUID();
const email = createJobEvent({
  type: "job.email.welcome",
  accountId: crypto.randomUUID(),
  campaignId: campaign,
  data: { type: "welcome", campaign_id: campaign, user_id: crypto.randomUUID(), priority: 1 },
});
const recalc = createJobEvent({
  type: "job.position.recalculate",
  accountId: crypto.randomUUID(),
  campaignId: campaign,
  data: { campaign_id: campaign, points_per_referral: 1 },
});
const routing = {
  transport: "kafka" as const,
  transportByType: { "job.email.*": "both" as const },
};

Deno.test("an event routed to both goes to both lists, under one id", () => {
  const split = splitByTransport(routing, [email, recalc]);
  assert.deepEqual(split.kafka, [email, recalc]);
  assert.deepEqual(split.bullmq, [email]);
});

Deno.test("a failed transport rejects with the events to send again", async () => {
  const sent: JobEvent[] = [];
  const send = routedSender(routing, {
    kafka: (events) => Promise.resolve(void sent.push(...events)),
    bullmq: () => Promise.reject(new Error("Connection is closed")),
  });
  await assert.rejects(send([email, recalc]), (error) => {
    assert.ok(error instanceof EnqueueError);
    assert.deepEqual(error.failed, ["bullmq"]);
    assert.deepEqual(error.events, [email]);
    assert.match(error.message, /bullmq: Connection is closed: send error\.events again/);
    return true;
  });
  assert.deepEqual(sent, [email, recalc]);
});
