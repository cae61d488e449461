import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "./mod.ts";

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems.map((p) => p.variable);
  }
  throw new Error("expected a ConfigError");
}

Deno.test("defaults match the seed", () => {
  const config = loadConfig({});
  assert.deepEqual(config.kafka.brokers, ["localhost:9092"]);
  assert.equal(config.kafka.topic, "job-events");
  assert.equal(config.worker.consumerGroup, "job-workers");
  assert.equal(config.worker.poolSize, 10);
  assert.equal(config.worker.deadLetterTopic, "job-events.dlq");
  assert.equal(config.worker.jobTypes.length, 7);
  assert.equal(config.observability.metricsPort, 9090);
  assert.deepEqual(config.kafka.tls, { enabled: false });
  assert.equal(config.kafka.sasl, undefined);
});

Deno.test("reads brokers, topic, group, pool size and job types", () => {
  const config = loadConfig({
    KAFKA_BROKERS: "b1:9092, b2:9093",
    KAFKA_JOB_TOPIC: "jobs",
    KAFKA_JOB_CONSUMER_GROUP: "emails",
    KAFKA_WORKER_POOL_SIZE: "25",
    KAFKA_JOB_TYPES: "job.email.*",
  });
  assert.deepEqual(config.kafka.brokers, ["b1:9092", "b2:9093"]);
  assert.equal(config.kafka.topic, "jobs");
  assert.equal(config.worker.deadLetterTopic, "jobs.dlq");
  assert.equal(config.worker.consumerGroup, "emails");
  assert.equal(config.worker.poolSize, 25);
  assert.equal(config.worker.jobTypes.length, 5);
});

Deno.test("TLS and SASL for managed clusters", () => {
  const config = loadConfig({
    KAFKA_TLS: "true",
    KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
    KAFKA_SASL_USERNAME: "svc",
    KAFKA_SASL_PASSWORD: "secret",
  });
  assert.deepEqual(config.kafka.tls, { enabled: true, rejectUnauthorized: true });
  assert.deepEqual(config.kafka.sasl, {
    mechanism: "scram-sha-512",
    username: "svc",
    password: "secret",
  });
});

Deno.test("mutual TLS: a client certificate and its key, both or neither", () => {
  const config = loadConfig({
    KAFKA_TLS: "true",
    KAFKA_TLS_CERT_FILE: "/etc/kafka/tls.crt",
    KAFKA_TLS_KEY_FILE: "/etc/kafka/tls.key",
  });
  assert.deepEqual(config.kafka.tls, {
    enabled: true,
    rejectUnauthorized: true,
    certFile: "/etc/kafka/tls.crt",
    keyFile: "/etc/kafka/tls.key",
  });
  assert.deepEqual(problemsOf({ KAFKA_TLS: "true", KAFKA_TLS_CERT_FILE: "/etc/kafka/tls.crt" }), [
    "KAFKA_TLS_KEY_FILE",
  ]);
});

Deno.test("bad values fail naming every variable at once", () => {
  assert.deepEqual(
    problemsOf({
      KAFKA_WORKER_POOL_SIZE: "zero",
      KAFKA_BROKERS: "no-port",
      KAFKA_SASL_MECHANISM: "gssapi",
      METRICS_PORT: "70000",
    }),
    ["KAFKA_BROKERS", "KAFKA_SASL_MECHANISM", "KAFKA_WORKER_POOL_SIZE", "METRICS_PORT"],
  );
});

Deno.test("SASL without credentials names the missing variables", () => {
  assert.deepEqual(problemsOf({ KAFKA_SASL_MECHANISM: "plain" }), [
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
  ]);
});

Deno.test("a pool size of 0 and an unknown job type are rejected with what is allowed", () => {
  try {
    loadConfig({ KAFKA_WORKER_POOL_SIZE: "0", KAFKA_JOB_TYPES: "job.sms.*" });
    assert.fail("expected a ConfigError");
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /KAFKA_WORKER_POOL_SIZE: must be an integer >= 1/);
    assert.match(error.message, /KAFKA_JOB_TYPES: "job.sms.\*" matches no job type/);
  }
});

Deno.test("pool min above max is rejected", () => {
  assert.deepEqual(
    problemsOf({ KAFKA_WORKER_POOL_MIN: "20", KAFKA_WORKER_POOL_MAX: "5" }),
    ["KAFKA_WORKER_POOL_MIN"],
  );
});

Deno.test("the fetch cap: 1 MiB by default, set in bytes, refused below 1 KiB", () => {
  assert.equal(loadConfig({}).worker.fetchMaxBytes, 1024 * 1024);
  assert.equal(loadConfig({ KAFKA_FETCH_MAX_BYTES: "4194304" }).worker.fetchMaxBytes, 4194304);
  assert.deepEqual(problemsOf({ KAFKA_FETCH_MAX_BYTES: "100" }), ["KAFKA_FETCH_MAX_BYTES"]);
});

Deno.test("the buffer: 100 messages per worker (at least 1,000) and 16 MiB by default", () => {
  assert.equal(loadConfig({}).worker.bufferSize, 1_000);
  assert.equal(loadConfig({ KAFKA_WORKER_POOL_SIZE: "100" }).worker.bufferSize, 10_000);
  assert.equal(loadConfig({ KAFKA_WORKER_POOL_MAX: "30" }).worker.bufferSize, 3_000);
  assert.equal(loadConfig({}).worker.bufferBytes, 16 * 1024 * 1024);
  assert.equal(loadConfig({ KAFKA_WORKER_BUFFER_BYTES: "2048" }).worker.bufferBytes, 2048);
  assert.deepEqual(problemsOf({ KAFKA_WORKER_BUFFER_BYTES: "10" }), ["KAFKA_WORKER_BUFFER_BYTES"]);
});
