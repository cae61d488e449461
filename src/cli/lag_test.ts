import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../config/mod.ts";
import { formatLag, readLagConfig } from "./lag.ts";

Deno.test("the lag table has kafka-consumer-groups' columns and a total", () => {
  const text = formatLag(
    {
      group: "workers",
      topic: "jobs",
      total: 5,
      partitions: [
        {
          topic: "jobs",
          partition: 0,
          currentOffset: 3,
          logStartOffset: 0,
          logEndOffset: 5,
          lag: 2,
        },
        {
          topic: "jobs",
          partition: 1,
          currentOffset: null,
          logStartOffset: 0,
          logEndOffset: 3,
          lag: 3,
        },
      ],
    },
    new Map([[0, { consumerId: "c-1", host: "/10.0.0.1", clientId: "jobpool" }]]),
  );
  const lines = text.split("\n").map((line) => line.split(/\s+/));
  assert.deepEqual(lines[0], [
    "GROUP",
    "TOPIC",
    "PARTITION",
    "CURRENT-OFFSET",
    "LOG-END-OFFSET",
    "LAG",
    "CONSUMER-ID",
    "HOST",
    "CLIENT-ID",
  ]);
  assert.deepEqual(lines[1], [
    "workers",
    "jobs",
    "0",
    "3",
    "5",
    "2",
    "c-1",
    "/10.0.0.1",
    "jobpool",
  ]);
  assert.deepEqual(lines[2], ["workers", "jobs", "1", "-", "3", "3", "-", "-", "-"]);
  assert.equal(text.split("\n").at(-1), "TOTAL LAG: 5");
});

Deno.test("lag reads only Kafka settings: bad database and mail settings do not stop it", () => {
  const env = {
    KAFKA_JOB_TOPIC: "jobs",
    DATABASE_URL: "mysql://not-postgres/db",
    SMTP_PORT: "not a port",
    SMTP_HOST: "mail.example.test",
  };
  assert.throws(() => loadConfig(env), ConfigError, "the worker still refuses them");
  const config = readLagConfig(env);
  assert.equal(config.kafka.topic, "jobs");
  assert.equal(config.worker.consumerGroup, "job-workers");
  assert.throws(() => readLagConfig({ ...env, KAFKA_WORKER_POOL_SIZE: "0" }), {
    name: "ConfigError",
    message: /KAFKA_WORKER_POOL_SIZE/,
  });
});
