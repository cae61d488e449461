import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { JobDecodeError } from "../jobs/mod.ts";
import type { Kafka } from "kafkajs";
import { createIdempotentProducer } from "../kafka/mod.ts";
import { DEAD_LETTER_HEADERS, deadLetterHeaders, DeadLetterPublisher } from "./dead_letter.ts";

Deno.test("deadLetterHeaders keeps the original headers and adds the reason", () => {
  const headers = deadLetterHeaders({
    topic: "job-events",
    partition: 3,
    offset: "42",
    key: Buffer.from("campaign"),
    value: Buffer.from("{"),
    headers: { "job-type": "job.email.welcome" },
  }, {
    error: new JobDecodeError("Invalid job event: not UTF-8 JSON", {
      field: "",
      problem: "invalid_json",
    }),
    attempts: 0,
    firstFailureAt: new Date("2026-01-01T00:00:00Z"),
    lastFailureAt: new Date("2026-01-01T00:00:01Z"),
  });
  assert.deepEqual(headers, {
    "job-type": "job.email.welcome",
    [DEAD_LETTER_HEADERS.originalTopic]: "job-events",
    [DEAD_LETTER_HEADERS.originalPartition]: "3",
    [DEAD_LETTER_HEADERS.originalOffset]: "42",
    [DEAD_LETTER_HEADERS.errorClass]: "JobDecodeError",
    [DEAD_LETTER_HEADERS.errorMessage]: "Invalid job event: not UTF-8 JSON",
    [DEAD_LETTER_HEADERS.attempts]: "0",
    [DEAD_LETTER_HEADERS.firstFailureAt]: "2026-01-01T00:00:00.000Z",
    [DEAD_LETTER_HEADERS.lastFailureAt]: "2026-01-01T00:00:01.000Z",
  });
});

Deno.test("deadLetterHeaders describes a thrown non-error", () => {
  const headers = deadLetterHeaders(
    { topic: "t", partition: 0, offset: "1", key: null, value: null },
    { error: "plain string", attempts: 2, firstFailureAt: new Date(0), lastFailureAt: new Date(0) },
  );
  assert.equal(headers[DEAD_LETTER_HEADERS.errorClass], "Error");
  assert.equal(headers[DEAD_LETTER_HEADERS.errorMessage], "plain string");
});

Deno.test("DeadLetterPublisher publishes with the shared idempotent producer's settings", () => {
  const seen: unknown[] = [];
  const kafka = {
    producer: (options: unknown) => {
      seen.push(options);
      return {};
    },
  } as unknown as Kafka;
  createIdempotentProducer(kafka);
  new DeadLetterPublisher(kafka, "job-events.dlq");
  assert.equal(seen.length, 2);
  assert.deepEqual(seen[1], seen[0]);
});
