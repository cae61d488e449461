import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { KafkaMessage } from "kafkajs";
import { DEAD_LETTER_HEADERS } from "../worker/dead_letter.ts";
import { parsePosition, replayMessage, toDeadLetter } from "./dead_letters.ts";

const h = DEAD_LETTER_HEADERS;

function record(headers: Record<string, string>, value: string | null): KafkaMessage {
  return {
    key: Buffer.from("campaign-1"),
    value: value === null ? null : Buffer.from(value),
    timestamp: String(Date.parse("2026-11-28T10:00:00Z")),
    attributes: 0,
    offset: "7",
    headers: Object.fromEntries(
      Object.entries(headers).map(([name, text]) => [name, Buffer.from(text)]),
    ),
  };
}

Deno.test("a dead letter's headers say where it came from and why it failed", () => {
  const letter = toDeadLetter(
    2,
    record({
      "job-type": "job.email.welcome",
      "job-id": "id-1",
      [h.originalTopic]: "job-events",
      [h.originalPartition]: "4",
      [h.originalOffset]: "123",
      [h.errorClass]: "RetryLaterError",
      [h.errorMessage]: "SMTP down",
      [h.attempts]: "5",
      [h.firstFailureAt]: "2026-11-28T09:00:00.000Z",
      [h.lastFailureAt]: "2026-11-28T09:05:00.000Z",
    }, "{}"),
  );
  assert.equal(letter.partition, 2);
  assert.equal(letter.offset, "7");
  assert.deepEqual(letter.original, { topic: "job-events", partition: 4, offset: "123" });
  assert.deepEqual(letter.error, { class: "RetryLaterError", message: "SMTP down" });
  assert.equal(letter.attempts, 5);
  assert.equal(letter.lastFailureAt, "2026-11-28T09:05:00.000Z");
  assert.deepEqual(letter.job, { type: "job.email.welcome", id: "id-1" });
});

Deno.test("job type and id come from the payload when the headers lack them", () => {
  const letter = toDeadLetter(0, record({}, JSON.stringify({ id: "id-2", type: "job.x" })));
  assert.deepEqual(letter.job, { type: "job.x", id: "id-2" });
  assert.deepEqual(toDeadLetter(0, record({}, "not json")).job, {});
});

Deno.test("replay keeps key, value and job headers and drops the failure headers", () => {
  const letter = toDeadLetter(
    0,
    record({ "job-type": "job.email.welcome", [h.errorClass]: "E", [h.attempts]: "1" }, "{}"),
  );
  const message = replayMessage(letter);
  assert.equal(message.key?.toString(), "campaign-1");
  assert.equal(message.value?.toString(), "{}");
  assert.deepEqual(message.headers, { "job-type": "job.email.welcome" });
});

Deno.test("positions are partition:offset", () => {
  assert.deepEqual(parsePosition("3:42"), { partition: 3, offset: "42" });
  assert.equal(parsePosition("3"), undefined);
  assert.equal(parsePosition("a:1"), undefined);
});
