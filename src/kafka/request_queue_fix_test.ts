import assert from "node:assert/strict";
import { fixKafkaRequestQueue, kafkajsRequestQueue } from "./request_queue_fix.ts";

interface QueueState {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
}

const schedule = kafkajsRequestQueue().prototype as unknown as {
  scheduleCheckPendingRequests(this: QueueState): void;
};

function queue(pending: unknown[]): QueueState {
  return { pending, throttledUntil: -1, throttleCheckTimeoutId: null, checkPendingRequests() {} };
}

Deno.test("fixKafkaRequestQueue: no check is scheduled while nothing is pending", () => {
  fixKafkaRequestQueue();
  fixKafkaRequestQueue(); // idempotent: wrapping twice would still work, but it does not
  const idle = queue([]);
  schedule.scheduleCheckPendingRequests.call(idle);
  assert.equal(idle.throttleCheckTimeoutId, null);
});

Deno.test("fixKafkaRequestQueue: a pending request still gets its check", () => {
  fixKafkaRequestQueue();
  const waiting = queue([{}]);
  schedule.scheduleCheckPendingRequests.call(waiting);
  assert.notEqual(waiting.throttleCheckTimeoutId, null);
  clearTimeout(waiting.throttleCheckTimeoutId!);
});
