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

import { createRequire } from "node:module";
import { join } from "node:path";
import { kafkajsRoot } from "./kafkajs_package.ts";

/** The kafkajs release this fix was written against and tested with. */
export const FIXED_KAFKAJS_VERSION = "2.2.4";

/** The part of kafkajs's internal `RequestQueue` the fix touches (and its tests watch). */
export interface RequestQueueInternals {
  pending: unknown[];
  scheduleCheckPendingRequests(): void;
  checkPendingRequests(): void;
}

const FIXED = Symbol.for("jobpool.kafkajs.requestQueueFix");
const require = createRequire(import.meta.url);

/**
 * kafkajs's internal `RequestQueue` class, loaded from the very kafkajs
 * package `import "kafkajs"` resolves to, so the fix and the client share it.
 *
 * @throws {TypeError} when that kafkajs is not {@linkcode FIXED_KAFKAJS_VERSION}:
 * check whether the new release still needs the fix, then adapt or remove it.
 */
export function kafkajsRequestQueue(): { prototype: RequestQueueInternals } {
  const root = kafkajsRoot(FIXED_KAFKAJS_VERSION, "src/kafka/request_queue_fix.ts");
  return require(join(root, "src/network/requestQueue/index.js"));
}

/**
 * Makes kafkajs's request queues schedule a check only while requests are
 * pending. Idempotent; {@linkcode createKafkaClient} calls it.
 *
 * @throws {TypeError} when kafkajs is not the expected release or its
 * internals are not the expected shape: adapt or remove this fix then.
 */
export function fixKafkaRequestQueue(): void {
  const prototype = kafkajsRequestQueue().prototype as RequestQueueInternals & {
    [FIXED]?: true;
  };
  if (prototype[FIXED]) return;
  const original = prototype.scheduleCheckPendingRequests;
  if (typeof original !== "function") {
    throw new TypeError(
      "kafkajs's RequestQueue has no scheduleCheckPendingRequests: " +
        "adapt or remove src/kafka/request_queue_fix.ts",
    );
  }
  prototype.scheduleCheckPendingRequests = function (this: RequestQueueInternals) {
    // Anything but an empty queue (including a renamed field) keeps kafkajs's behaviour.
    if (Array.isArray(this.pending) && this.pending.length === 0) return;
    original.call(this);
  };
  prototype[FIXED] = true;
}
