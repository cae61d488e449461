import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { z } from "zod";
import { decodeJobEvent } from "./decode.ts";
import { JobDecodeError } from "./errors.ts";
import { compileFastChecks, isUuid, rememberingUuidCheck } from "./fast_check.ts";
import { JOB_TYPES, type JobType } from "./job_types.ts";
import { jobEventSchema } from "./schema.ts";

const zodUuid = z.uuid();
const checks = compileFastChecks();

/** Strings near a UUID: every position changed to characters of every class. */
function uuidCandidates(): string[] {
  const base = ["6f1c2b9e-3f0a-4c2d-9b7e-1a2b3c4d5e6f", "6F1C2B9E-3F0A-4C2D-AB7E-1A2B3C4D5E6F"];
  const out = [
    ...base,
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
    "00000000-0000-0000-0000-000000000001",
    "",
    "6f1c2b9e3f0a4c2d9b7e1a2b3c4d5e6f",
    `${base[0]}0`,
    base[0]!.slice(1),
    ` ${base[0]!.slice(1)}`,
  ];
  const replacements = [..."0189abfgAFG-_ zé\u0130\uff41\u0000", "\ud83d"];
  for (const uuid of base) {
    for (let i = 0; i < uuid.length; i++) {
      for (const r of replacements) out.push(uuid.slice(0, i) + r + uuid.slice(i + 1));
    }
  }
  for (let i = 0; i < 200; i++) out.push(crypto.randomUUID());
  return out;
}

Deno.test("isUuid accepts exactly what z.uuid() accepts", () => {
  for (const candidate of uuidCandidates()) {
    assert.equal(
      isUuid(candidate),
      zodUuid.safeParse(candidate).success,
      `isUuid and z.uuid() disagree on ${JSON.stringify(candidate)}`,
    );
  }
});

Deno.test("a remembering UUID check answers like isUuid whatever came before", () => {
  const check = rememberingUuidCheck();
  const valid = "6f1c2b9e-3f0a-4c2d-9b7e-1a2b3c4d5e6f";
  // Each candidate twice (the second time it may be the remembered value),
  // then a valid UUID, then the candidate again: no answer depends on history.
  for (const candidate of uuidCandidates()) {
    for (const value of [candidate, candidate, valid, candidate]) {
      assert.equal(check(value), isUuid(value), JSON.stringify(value));
    }
  }
});

const id = "6f1c2b9e-3f0a-4c2d-9b7e-1a2b3c4d5e6f";
const campaign = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f";

function validEvent(type: JobType): Record<string, unknown> {
  const data = type === "job.position.recalculate"
    ? { campaign_id: campaign, points_per_referral: 3 }
    : type === "job.reward.deliver"
    ? { user_reward_id: id }
    : { type: type.slice("job.email.".length), campaign_id: campaign, user_id: id, priority: 10 };
  return {
    id,
    type,
    account_id: id,
    campaign_id: campaign,
    data,
    timestamp: "2025-01-01T12:00:00.123+02:00",
  };
}

const oddValues: unknown[] = [
  undefined,
  null,
  0,
  -1,
  1.5,
  11,
  2 ** 53,
  "",
  "x",
  true,
  [],
  {},
  id.toUpperCase(),
  "2025-02-30T12:00:00Z",
  "2025-01-01T12:00:00",
  "2025-01-01 12:00:00Z",
  "welcome",
  "job.email.welcome",
];

/** The valid event of `type`, and every variant with one field removed, retyped or added. */
function variants(type: JobType): Record<string, unknown>[] {
  const event = validEvent(type);
  const data = event.data as Record<string, unknown>;
  const out: Record<string, unknown>[] = [event];
  for (const key of Object.keys(event)) {
    const { [key]: _, ...without } = event;
    out.push(without);
    for (const value of oddValues) out.push({ ...event, [key]: value });
  }
  for (const key of Object.keys(data)) {
    const { [key]: _, ...without } = data;
    out.push({ ...event, data: without });
    for (const value of oddValues) out.push({ ...event, data: { ...data, [key]: value } });
  }
  out.push({ ...event, extra: 1 });
  out.push({ ...event, data: { ...data, extra: 1 } });
  out.push(JSON.parse(JSON.stringify(event).replace("{", '{"__proto__":{"x":1},')));
  return out;
}

Deno.test("each type's compiled check agrees with the zod schema", () => {
  let compared = 0;
  for (const type of JOB_TYPES) {
    const check = checks.get(type)!;
    for (const variant of variants(type)) {
      const expected = jobEventSchema.safeParse(variant).success && variant.type === type;
      assert.equal(check(variant), expected, `${type}: ${JSON.stringify(variant)}`);
      compared++;
    }
  }
  assert.ok(compared > 500);
});

function decodeFailure(value: Uint8Array): JobDecodeError {
  try {
    decodeJobEvent(value);
  } catch (error) {
    if (error instanceof JobDecodeError) return error;
    throw error;
  }
  throw new Error("expected decoding to fail");
}

Deno.test("an invalid event decoded on the fast path still names every field at fault", () => {
  const event = validEvent("job.email.welcome");
  const bad = { ...event, account_id: "nope", data: { ...event.data as object, priority: 11 } };
  const error = decodeFailure(Buffer.from(JSON.stringify(bad)));
  assert.deepEqual(error.issues.map((issue) => issue.field), ["account_id", "data.priority"]);
});

Deno.test("a Buffer with invalid UTF-8 is refused, one with a real U+FFFD is decoded", () => {
  const event = validEvent("job.reward.deliver");
  const invalid = Buffer.concat([Buffer.from('{"x":"'), Buffer.from([0xff]), Buffer.from('"}')]);
  assert.equal(decodeFailure(invalid).problem, "invalid_json");
  const replacement = Buffer.from(JSON.stringify({ ...event, type: "\uFFFD" }));
  assert.equal(decodeFailure(replacement).problem, "unknown_type");
  assert.equal(decodeJobEvent(Buffer.from(JSON.stringify(event))).type, "job.reward.deliver");
});
