import assert from "node:assert/strict";
import { decodeJobEvent, JobDecodeError, prepareJobDecoder } from "./mod.ts";

const ids = {
  id: "6f1c2b9e-3f0a-4c2d-9b7e-1a2b3c4d5e6f",
  account: "0b7e9c1d-2a3f-4e5d-8c6b-7a8f9e0d1c2b",
  campaign: "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
  user: "9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b",
};

function verificationEvent(): Record<string, unknown> {
  return {
    id: ids.id,
    type: "job.email.verification",
    account_id: ids.account,
    campaign_id: ids.campaign,
    data: { type: "verification", campaign_id: ids.campaign, user_id: ids.user, priority: 1 },
    timestamp: "2025-01-01T12:00:00Z",
  };
}

function decodeError(value: unknown): JobDecodeError {
  try {
    decodeJobEvent(typeof value === "string" ? value : JSON.stringify(value));
  } catch (error) {
    assert.ok(error instanceof JobDecodeError, `expected JobDecodeError, got ${error}`);
    return error;
  }
  throw new Error("expected decoding to fail");
}

Deno.test("decodes the seed's verification envelope", () => {
  const bytes = new TextEncoder().encode(JSON.stringify(verificationEvent()));
  const event = decodeJobEvent(bytes);
  assert.equal(event.type, "job.email.verification");
  if (event.type !== "job.email.verification") throw new Error("narrowing");
  assert.equal(event.data.user_id, ids.user);
});

Deno.test("prepareJobDecoder may run ahead of the first decode, and again", () => {
  prepareJobDecoder();
  prepareJobDecoder();
  assert.equal(decodeJobEvent(JSON.stringify(verificationEvent())).id, ids.id);
  assert.equal(decodeError({ ...verificationEvent(), account_id: "x" }).field, "account_id");
});

Deno.test("decodes position recalculation and reward delivery payloads", () => {
  const base = { ...verificationEvent() };
  const recalc = decodeJobEvent(JSON.stringify({
    ...base,
    type: "job.position.recalculate",
    data: { campaign_id: ids.campaign, points_per_referral: 3 },
  }));
  assert.equal(recalc.type, "job.position.recalculate");
  const reward = decodeJobEvent(JSON.stringify({
    ...base,
    type: "job.reward.deliver",
    data: { user_reward_id: ids.user },
  }));
  assert.equal(reward.type, "job.reward.deliver");
});

Deno.test("bad JSON is a typed error for the whole message", () => {
  const error = decodeError("{not json");
  assert.equal(error.problem, "invalid_json");
  assert.equal(error.field, "");
  assert.match(error.message, /not UTF-8 JSON/);
});

Deno.test("an empty or non-object value is a typed error", () => {
  assert.throws(() => decodeJobEvent(null), JobDecodeError);
  assert.throws(() => decodeJobEvent(new Uint8Array()), JobDecodeError);
  assert.equal(decodeError("[1,2]").problem, "invalid_json");
});

Deno.test("invalid UTF-8 is a typed error", () => {
  assert.throws(() => decodeJobEvent(new Uint8Array([0x7b, 0xff, 0x7d])), JobDecodeError);
});

Deno.test("an unknown type names the type field", () => {
  const error = decodeError({ ...verificationEvent(), type: "job.email.unknown" });
  assert.equal(error.problem, "unknown_type");
  assert.equal(error.field, "type");
  assert.match(error.message, /job\.email\.unknown/);
});

Deno.test("a missing or mistyped field is named with its path", () => {
  const event = verificationEvent();
  const data = event.data as Record<string, unknown>;
  delete data.user_id;
  assert.equal(decodeError(event).field, "data.user_id");
  const mistyped = verificationEvent();
  (mistyped.data as Record<string, unknown>).priority = "high";
  assert.equal(decodeError(mistyped).field, "data.priority");
  assert.equal(decodeError({ ...verificationEvent(), account_id: "nope" }).field, "account_id");
  assert.equal(decodeError({ ...verificationEvent(), timestamp: "yesterday" }).field, "timestamp");
});

Deno.test("the email payload's type must match the envelope's type", () => {
  const event = verificationEvent();
  (event.data as Record<string, unknown>).type = "welcome";
  const error = decodeError(event);
  assert.equal(error.field, "data.type");
});

Deno.test("unexpected extra fields are rejected by name", () => {
  const error = decodeError({ ...verificationEvent(), extra: true });
  assert.equal(error.problem, "invalid_field");
  assert.match(error.message, /extra/);
});

Deno.test("every invalid field is named, not only the first", () => {
  const event = verificationEvent() as Record<string, unknown>;
  event.account_id = "nope";
  (event.data as Record<string, unknown>).user_id = 42;
  (event.data as Record<string, unknown>).priority = 99;
  const error = decodeError(event);
  assert.deepEqual(error.issues.map((issue) => issue.field), [
    "account_id",
    "data.user_id",
    "data.priority",
  ]);
  assert.equal(error.field, "account_id");
  for (const field of ["account_id", "data.user_id", "data.priority"]) {
    assert.match(error.message, new RegExp(`"${field.replace(".", "\\.")}"`));
  }
});

Deno.test("an event dated beyond the clock skew is invalid; within it, valid", () => {
  const now = Date.parse("2026-12-02T12:00:00Z");
  const at = (timestamp: string) => JSON.stringify({ ...verificationEvent(), timestamp });
  assert.throws(
    () => decodeJobEvent(at("9999-12-31T23:59:59Z"), { now }),
    (error: unknown) =>
      error instanceof JobDecodeError && error.field === "timestamp" &&
      /MAX_CLOCK_SKEW_MS/.test(error.message),
  );
  assert.throws(() => decodeJobEvent(at("2026-12-02T12:05:01Z"), { now }), JobDecodeError);
  assert.equal(decodeJobEvent(at("2026-12-02T12:04:59Z"), { now }).type, "job.email.verification");
  assert.equal(
    decodeJobEvent(at("2026-12-02T13:00:00Z"), { now, maxClockSkewMs: 3_600_000 }).type,
    "job.email.verification",
  );
});
