import assert from "node:assert/strict";
import { failedReason, FailedSetSink } from "./failed_set.ts";

Deno.test("a dead letter is held for its message once, and worded as BullMQ's failedReason", async () => {
  const sink = new FailedSetSink();
  const message = { topic: "bull:jobs", partition: 0, offset: "7", key: null, value: null };
  const reason = {
    error: new TypeError("bad"),
    attempts: 3,
    firstFailureAt: new Date("2026-01-01T00:00:00Z"),
    lastFailureAt: new Date("2026-01-01T00:00:05Z"),
  };
  await sink.publish(message, reason);
  assert.equal(sink.take(message), reason);
  assert.equal(sink.take(message), undefined);
  assert.equal(
    failedReason(reason),
    "TypeError: bad (dead-lettered after 3 attempt(s); first failure 2026-01-01T00:00:00.000Z, last 2026-01-01T00:00:05.000Z)",
  );
});
