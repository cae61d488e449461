import assert from "node:assert/strict";
import { JobDecodeError, PermanentJobError, RetryLaterError } from "../jobs/mod.ts";
import {
  backoffDelay,
  decideRetry,
  JobTimeoutError,
  maxAttemptsFor,
  type RetryPolicy,
  UnhandledJobTypeError,
} from "./retry.ts";

const policy: RetryPolicy = {
  maxAttempts: 3,
  maxAttemptsByType: { "job.email.*": 5, "job.reward.deliver": 1 },
  baseMs: 100,
  maxMs: 1000,
};
const top = () => 0.999999;

Deno.test("decideRetry dead-letters permanent errors at once", () => {
  const decode = new JobDecodeError("bad", { field: "", problem: "invalid_json" });
  for (const error of [new PermanentJobError("no"), decode, new UnhandledJobTypeError("x")]) {
    assert.deepEqual(decideRetry(policy, { error, attempt: 1, type: "job.email.welcome" }), {
      action: "dead_letter",
      reason: "permanent",
    });
  }
});

Deno.test("decideRetry backs off with jitter until attempts run out", () => {
  const failure = { error: new Error("db down"), type: "job.position.recalculate" };
  assert.deepEqual(decideRetry(policy, { ...failure, attempt: 1 }, top), {
    action: "retry",
    delayMs: 99,
  });
  assert.deepEqual(decideRetry(policy, { ...failure, attempt: 2 }, () => 0), {
    action: "retry",
    delayMs: 0,
  });
  assert.deepEqual(decideRetry(policy, { ...failure, attempt: 3 }), {
    action: "dead_letter",
    reason: "attempts_exhausted",
  });
  const timeout = { error: new JobTimeoutError(10), type: undefined, attempt: 1 };
  assert.equal(decideRetry(policy, timeout).action, "retry");
});

Deno.test("decideRetry honours RetryLaterError within the cap", () => {
  const later = (retryAfterMs?: number) => ({
    error: new RetryLaterError("busy", retryAfterMs === undefined ? {} : { retryAfterMs }),
    attempt: 1,
    type: "job.position.recalculate",
  });
  assert.deepEqual(decideRetry(policy, later(250)), { action: "retry", delayMs: 250 });
  assert.deepEqual(decideRetry(policy, later(60_000)), { action: "retry", delayMs: 1000 });
  assert.deepEqual(decideRetry(policy, later(), top), { action: "retry", delayMs: 99 });
});

Deno.test("maxAttemptsFor uses the first matching type pattern", () => {
  assert.equal(maxAttemptsFor(policy, "job.email.welcome"), 5);
  assert.equal(maxAttemptsFor(policy, "job.reward.deliver"), 1);
  assert.equal(maxAttemptsFor(policy, "job.position.recalculate"), 3);
  assert.equal(maxAttemptsFor(policy, undefined), 3);
});

Deno.test("backoffDelay doubles and is capped", () => {
  assert.equal(backoffDelay(policy, 1, top), 99);
  assert.equal(backoffDelay(policy, 2, top), 199);
  assert.equal(backoffDelay(policy, 4, top), 799);
  assert.equal(backoffDelay(policy, 10, top), 999);
});
