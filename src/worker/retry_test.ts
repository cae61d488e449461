import assert from "node:assert/strict";
import {
  DependencyUnavailableError,
  JobDecodeError,
  LeaseHeldError,
  PermanentJobError,
  RetryLaterError,
} from "../jobs/mod.ts";
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
    charged: true,
  });
  assert.deepEqual(decideRetry(policy, { ...failure, attempt: 2 }, () => 0), {
    action: "retry",
    delayMs: 100,
    charged: true,
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
  const retry = (delayMs: number) => ({ action: "retry", delayMs, charged: true });
  assert.deepEqual(decideRetry(policy, later(250)), retry(250));
  assert.deepEqual(decideRetry(policy, later(60_000)), retry(1000));
  assert.deepEqual(decideRetry(policy, later(), top), retry(99));
});

Deno.test("decideRetry never uses an attempt for a claim held elsewhere, even past the last", () => {
  const held = (retryAfterMs?: number) => ({
    error: new LeaseHeldError("held", retryAfterMs === undefined ? {} : { retryAfterMs }),
    attempt: 3,
    type: "job.position.recalculate",
  });
  assert.deepEqual(decideRetry(policy, held(400)), {
    action: "retry",
    delayMs: 400,
    charged: false,
  });
  assert.deepEqual(decideRetry(policy, held(5)), { action: "retry", delayMs: 100, charged: false });
  assert.deepEqual(decideRetry(policy, held(60_000)), {
    action: "retry",
    delayMs: 1000,
    charged: false,
  });
  const patient = { ...policy, maxMs: 300_000 };
  assert.deepEqual(decideRetry(patient, held(290_000)), {
    action: "retry",
    delayMs: 5_000,
    charged: false,
  }, "a claim is looked at again every 5 s at most");
});

Deno.test("decideRetry uses no attempt for an outage, but does for an isolated dependency failure", () => {
  const error = new DependencyUnavailableError("postgres", "connection refused");
  const failure = { error, attempt: 3, type: "job.position.recalculate" };
  assert.deepEqual(decideRetry(policy, { ...failure, outage: true }), {
    action: "retry",
    delayMs: 0,
    charged: false,
  });
  assert.deepEqual(decideRetry(policy, { ...failure, outage: false }), {
    action: "dead_letter",
    reason: "attempts_exhausted",
  });
});

Deno.test("maxAttemptsFor uses the first matching type pattern", () => {
  assert.equal(maxAttemptsFor(policy, "job.email.welcome"), 5);
  assert.equal(maxAttemptsFor(policy, "job.reward.deliver"), 1);
  assert.equal(maxAttemptsFor(policy, "job.position.recalculate"), 3);
  assert.equal(maxAttemptsFor(policy, undefined), 3);
});

Deno.test("backoffDelay doubles, is capped, and never falls below half its ceiling", () => {
  assert.equal(backoffDelay(policy, 1, top), 99);
  assert.equal(backoffDelay(policy, 2, top), 199);
  assert.equal(backoffDelay(policy, 4, top), 799);
  assert.equal(backoffDelay(policy, 10, top), 999);
  assert.equal(backoffDelay(policy, 1, () => 0), 50);
  assert.equal(backoffDelay(policy, 4, () => 0), 400);
});

Deno.test("the default schedule spans minutes: 10 attempts, 1 s doubling to 5 min", () => {
  const defaults: RetryPolicy = { maxAttempts: 10, baseMs: 1_000, maxMs: 300_000 };
  const span = (random: () => number) => {
    let total = 0;
    for (let attempt = 1; attempt < 10; attempt++) {
      total += backoffDelay(defaults, attempt, random);
    }
    return total;
  };
  assert.ok(span(() => 0) >= 4 * 60_000, `shortest ${span(() => 0)} ms`);
  assert.ok(span(top) <= 9 * 60_000, `longest ${span(top)} ms`);
});
