/**
 * A fix for a busy loop in kafkajs 2.2.4, the last release.
 *
 * After each response, kafkajs's per-connection `RequestQueue` schedules a
 * check of its pending requests, and every check schedules the next one, even
 * when nothing is pending. The delay is `throttledUntil - Date.now()`, which
 * is negative unless the broker throttles, so timers clamp it to 1 ms: each
 * open broker connection wakes the event loop hundreds of times a second for
 * nothing (445 checks in one idle second for one producer, measured by
 * `test/integration/kafka_request_queue_test.ts`), and Deno prints a
 * `TimeoutNegativeWarning` for the first timer. Upstream: tulios/kafkajs
 * issues 1704 and 1751, fixes proposed and never merged.
 *
 * With nothing pending there is nothing to check: a request that has to wait
 * is queued by `push`, which schedules its own check. So the fix returns early
 * then; the rest of kafkajs's logic (throttling, in-flight limits) is kept.
 *
 * @module
 */

import RequestQueue from "kafkajs/src/network/requestQueue/index.js";

/** The part of kafkajs's internal `RequestQueue` the fix touches. */
interface RequestQueueInternals {
  pending: unknown[];
  scheduleCheckPendingRequests(): void;
}

const FIXED = Symbol.for("jobpool.kafkajs.requestQueueFix");

/**
 * Makes kafkajs's request queues schedule a check only while requests are
 * pending. Idempotent; {@linkcode createKafkaClient} calls it.
 *
 * @throws {TypeError} when kafkajs's internals are not the expected shape (a
 * kafkajs upgrade): remove this fix or adapt it then.
 */
export function fixKafkaRequestQueue(): void {
  const prototype = (RequestQueue as { prototype: RequestQueueInternals & { [FIXED]?: true } })
    .prototype;
  if (prototype[FIXED]) return;
  const original = prototype.scheduleCheckPendingRequests;
  if (typeof original !== "function") {
    throw new TypeError(
      "kafkajs's RequestQueue has no scheduleCheckPendingRequests: this kafkajs is not 2.2.4; " +
        "remove or adapt src/kafka/request_queue_fix.ts",
    );
  }
  prototype.scheduleCheckPendingRequests = function (this: RequestQueueInternals) {
    if (this.pending.length === 0) return;
    original.call(this);
  };
  prototype[FIXED] = true;
}
