import assert from "node:assert/strict";
import { ConfigError, loadConfig, loadTransportConfig } from "./mod.ts";

Deno.test("legacy queue defaults: everything to Kafka, queue bull:jobs on a local Redis", () => {
  const { legacy } = loadConfig({});
  assert.equal(legacy.transport, "kafka");
  assert.deepEqual(legacy.transportByType, {});
  assert.equal(legacy.redisUrl, "redis://localhost:6379");
  assert.equal(legacy.prefix, "bull");
  assert.equal(legacy.queue, "jobs");
  assert.equal(legacy.concurrency, 10);
});

Deno.test("reads the routing, queues and legacy job names", () => {
  const { legacy } = loadTransportConfig({
    JOB_TRANSPORT: "both",
    JOB_TRANSPORT_BY_TYPE: "job.email.*=bullmq, job.reward.deliver=kafka",
    BULLMQ_QUEUE_BY_TYPE: "job.email.*=emails",
    BULLMQ_JOB_NAMES: "send-welcome=job.email.welcome",
    BULLMQ_REDIS_URL: "rediss://user:secret@redis.internal:6380/2",
  });
  assert.equal(legacy.transport, "both");
  assert.deepEqual(legacy.transportByType, {
    "job.email.*": "bullmq",
    "job.reward.deliver": "kafka",
  });
  assert.deepEqual(legacy.queueByType, { "job.email.*": "emails" });
  assert.deepEqual(legacy.jobNames, { "send-welcome": "job.email.welcome" });
});

Deno.test("bad legacy settings name their variable", () => {
  try {
    loadTransportConfig({
      JOB_TRANSPORT: "carrier-pigeon",
      JOB_TRANSPORT_BY_TYPE: "job.sms.*=kafka,job.email.*=redis",
      BULLMQ_REDIS_URL: "http://localhost:6379",
      BULLMQ_QUEUE: "has space",
      BULLMQ_JOB_NAMES: "send-sms=job.sms.send",
      BULLMQ_WORKER_CONCURRENCY: "0",
    });
    assert.fail("expected a ConfigError");
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.problems.map((problem) => problem.variable), [
      "BULLMQ_QUEUE",
      "JOB_TRANSPORT",
      "JOB_TRANSPORT_BY_TYPE",
      "JOB_TRANSPORT_BY_TYPE",
      "BULLMQ_REDIS_URL",
      "BULLMQ_JOB_NAMES",
      "BULLMQ_WORKER_CONCURRENCY",
    ]);
    assert.match(
      error.message,
      /JOB_TRANSPORT_BY_TYPE: "job\.email\.\*": expected one of kafka, bullmq, both, got "redis"/,
    );
  }
});
