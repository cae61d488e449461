import assert from "node:assert/strict";
import { loadConfig } from "../config/mod.ts";
import { configurationBlock } from "./main.ts";

Deno.test("configurationBlock prints the seed's start-up block", () => {
  assert.equal(
    configurationBlock(loadConfig({})),
    [
      "Kafka job worker server configuration:",
      "  - Event-driven jobs: 10 concurrent workers",
      "  - Kafka brokers: [localhost:9092]",
      "  - Kafka topic: job-events",
      "  - Consumer group: job-workers",
    ].join("\n"),
  );
});

Deno.test("configurationBlock lists every broker", () => {
  const config = loadConfig({ KAFKA_BROKERS: "a:9092,b:9093", KAFKA_WORKER_POOL_SIZE: "3" });
  const lines = configurationBlock(config).split("\n");
  assert.equal(lines[1], "  - Event-driven jobs: 3 concurrent workers");
  assert.equal(lines[2], "  - Kafka brokers: [a:9092 b:9093]");
});
