import assert from "node:assert/strict";
import { legacyQueues, queueFor, transportFor, usesBullmq, usesKafka } from "./routing.ts";

const config = {
  transport: "kafka" as const,
  transportByType: { "job.email.welcome": "both" as const, "job.email.*": "bullmq" as const },
  queue: "jobs",
  queueByType: { "job.email.*": "emails" },
};

Deno.test("the first matching rule wins, else the default", () => {
  assert.equal(transportFor(config, "job.email.welcome"), "both");
  assert.equal(transportFor(config, "job.email.milestone"), "bullmq");
  assert.equal(transportFor(config, "job.reward.deliver"), "kafka");
  assert.equal(queueFor(config, "job.email.welcome"), "emails");
  assert.equal(queueFor(config, "job.reward.deliver"), "jobs");
});

Deno.test("the queues and transports in use", () => {
  assert.deepEqual(legacyQueues(config), ["emails", "jobs"]);
  assert.ok(usesKafka(config) && usesBullmq(config));
  assert.ok(!usesBullmq({ transport: "kafka", transportByType: {} }));
  assert.ok(!usesKafka({ transport: "bullmq", transportByType: {} }));
});
