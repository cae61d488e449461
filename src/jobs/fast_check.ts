/**
 * The hot path of validation: one check per job type, compiled once from the
 * zod schema (zod → JSON Schema → ajv), answering only "valid or not". The
 * zod schema stays the contract and the source of error messages: input the
 * check refuses is parsed by zod again, which names every field at fault (and
 * wins if the two ever disagree, so the check can only ever be stricter).
 *
 * UUIDs are checked by a loop over the characters instead of zod's regular
 * expression (a fifth of zod's time went to it), accepting exactly what the
 * expression accepts ({@linkcode isUuid}). Each UUID field name has its own
 * check that remembers the last value it accepted: `account_id` and
 * `campaign_id` tend to repeat from job to job, and an email's
 * `data.campaign_id` repeats the envelope's, so comparing with the last value
 * (a string comparison that usually fails at the first character) spares most
 * of those loops.
 *
 * @module
 */

import { Ajv, type AnySchema, type Format, type ValidateFunction } from "ajv";
import { z } from "zod";
import { JOB_TYPES, type JobType } from "./job_types.ts";
import { type JobEvent, jobEventSchema } from "./schema.ts";

/** A compiled check of one job type's events. */
export type FastCheck = (value: unknown) => value is JobEvent;

/** zod's UUID pattern, as it appears in the JSON Schema zod writes. */
const ZOD_UUID_PATTERN = z.uuid()._zod.def.pattern?.source;

/**
 * True when `value` is a UUID as zod's `z.uuid()` accepts it: RFC 9562
 * layout, hex digits of either case, version 1–8, variant 10xx, or the nil
 * and max UUIDs.
 */
export function isUuid(value: string): boolean {
  if (value.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const code = value.charCodeAt(i);
    if (code > 0xff || CHAR_CLASS[code] !== CLASS_AT[i]) return false;
  }
  const version = value.charCodeAt(14);
  if (version >= 49 && version <= 56) {
    // A hex digit's code | 0x20 is its lower case: 8, 9, a or b.
    const variant = value.charCodeAt(19) | 0x20;
    if (variant === 56 || variant === 57 || variant === 97 || variant === 98) return true;
  }
  return value === NIL || value === MAX;
}

const NIL = "00000000-0000-0000-0000-000000000000";
const MAX = "ffffffff-ffff-ffff-ffff-ffffffffffff";
/** 1 for a hex digit, 2 for "-", 0 for anything else (Latin-1 codes). */
const CHAR_CLASS = new Uint8Array(256);
for (const c of "0123456789abcdefABCDEF") CHAR_CLASS[c.charCodeAt(0)] = 1;
CHAR_CLASS[45] = 2;
/** The class each of a UUID's 36 characters must have. */
const CLASS_AT = Uint8Array.from(NIL, (c) => c === "-" ? 2 : 1);

/**
 * Compiles one check per job type from {@linkcode jobEventSchema}.
 *
 * @throws {TypeError} when the schema has a shape this compiler does not
 * know (a new union member without a literal `type`, a UUID with another
 * pattern): change the schema and this module together.
 */
export function compileFastChecks(): ReadonlyMap<JobType, FastCheck> {
  const schema = z.toJSONSchema(jobEventSchema, { target: "draft-07", io: "input" });
  const branches = (schema as { oneOf?: unknown[]; anyOf?: unknown[] }).oneOf ??
    (schema as { anyOf?: unknown[] }).anyOf;
  if (!Array.isArray(branches)) {
    throw new TypeError("Cannot compile the job event checks: the schema is not a union");
  }
  const formats: Record<string, Format> = { "date-time": true };
  const branchSchemas = branches.map((branch) => withUuidFormats(branch, { formats, field: "" }));
  const ajv = new Ajv({
    allErrors: false,
    strict: true,
    // Only UUIDs (one format per field name) and "date-time" occur; the date-time pattern stays.
    formats,
  });
  const checks = new Map<JobType, FastCheck>();
  for (const branch of branchSchemas) {
    const type = (branch as { properties?: { type?: { const?: unknown } } }).properties?.type
      ?.const;
    if (!JOB_TYPES.includes(type as JobType)) {
      throw new TypeError(
        `Cannot compile the job event checks: a union member has no known literal type (${
          JSON.stringify(type)
        })`,
      );
    }
    const validate: ValidateFunction = ajv.compile(branch as AnySchema);
    checks.set(type as JobType, (value): value is JobEvent => validate(value) === true);
  }
  const missing = JOB_TYPES.filter((type) => !checks.has(type));
  if (missing.length > 0) {
    throw new TypeError(`Cannot compile the job event checks: no schema for ${missing.join(", ")}`);
  }
  return checks;
}

/**
 * A copy of `schema` where each UUID string is checked by the format
 * `uuid:<field name>` alone (registered in `options.formats`), not by zod's
 * pattern.
 */
function withUuidFormats(
  schema: unknown,
  options: { formats: Record<string, Format>; field: string },
): unknown {
  const { formats, field } = options;
  if (Array.isArray(schema)) return schema.map((item) => withUuidFormats(item, options));
  if (typeof schema !== "object" || schema === null) return schema;
  const copy: Record<string, unknown> = {};
  const record = schema as Record<string, unknown>;
  for (const [key, value] of Object.entries(record)) {
    copy[key] = withUuidFormats(value, { formats, field: key });
  }
  if (record.format === "uuid") {
    if (record.pattern !== ZOD_UUID_PATTERN) {
      throw new TypeError(
        `Cannot compile the job event checks: a UUID field has another pattern than z.uuid()'s`,
      );
    }
    delete copy.pattern;
    const format = `uuid:${field}`;
    copy.format = format;
    formats[format] ??= { type: "string", validate: rememberingUuidCheck() };
  }
  return copy;
}

/**
 * {@linkcode isUuid} that remembers the last value it accepted and accepts an
 * equal value without the loop (the check is pure, so the answer is the same).
 */
export function rememberingUuidCheck(): (value: string) => boolean {
  let lastAccepted = NIL;
  return (value) => {
    if (value === lastAccepted) return true;
    if (!isUuid(value)) return false;
    lastAccepted = value;
    return true;
  };
}
