/**
 * Turning bytes into a valid {@linkcode JobEvent}, with a typed error that
 * names the field at fault for everything else.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { z } from "zod";
import { JobDecodeError } from "./errors.ts";
import { compileFastChecks, type FastCheck } from "./fast_check.ts";
import { isJobType, JOB_TYPES, type JobType } from "./job_types.ts";
import { type JobEvent, jobEventSchema } from "./schema.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });
/** Compiled by {@linkcode prepareJobDecoder} or the first decode (tens of ms), not at import. */
let fastChecks: ReadonlyMap<JobType, FastCheck> | undefined;

/**
 * Compiles the checks {@linkcode decodeJobEvent} runs on every event now
 * (about 45 ms) rather than at the first decode; idempotent. The worker calls
 * it as it starts, so its first job does not wait for it.
 *
 * @throws {TypeError} when the schema has a shape the compiler does not know
 * (see `fast_check.ts`).
 */
export function prepareJobDecoder(): void {
  fastChecks ??= compileFastChecks();
}

/**
 * How far in the future an event's `timestamp` may lie (clock skew between
 * producers and workers) before the event is invalid: 5 minutes.
 */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 300_000;

/** Options of {@linkcode decodeJobEvent} and {@linkcode validateJobEvent}. */
export interface ValidateOptions {
  /**
   * An event dated more than this after `now` is invalid (a timestamp from
   * the future would outrank every later setting it changes).
   * @default DEFAULT_MAX_CLOCK_SKEW_MS
   */
  maxClockSkewMs?: number;
  /** The current time in ms since the epoch. @default Date.now() */
  now?: number;
}

/**
 * Decodes a Kafka message value into a job event.
 *
 * @throws {JobDecodeError} when the value is empty, not UTF-8 JSON, of an
 * unknown type, has missing or mistyped fields (all of them are named), or
 * is dated too far in the future.
 */
export function decodeJobEvent(
  value: Uint8Array | string | null | undefined,
  options?: ValidateOptions,
): JobEvent {
  if (value === null || value === undefined || value.length === 0) {
    throw new JobDecodeError("Invalid job event: the message has no value", {
      field: "",
      problem: "invalid_json",
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === "string" ? value : utf8(value));
  } catch (cause) {
    throw new JobDecodeError(`Invalid job event: not UTF-8 JSON: ${(cause as Error).message}`, {
      field: "",
      problem: "invalid_json",
    }, { cause });
  }
  return validateParsed(parsed, options);
}

/**
 * The text of UTF-8 bytes; throws on invalid UTF-8. A Buffer's own decoding
 * is about twice as fast as a fatal `TextDecoder` but replaces invalid bytes
 * with U+FFFD, so text holding U+FFFD is decoded again strictly.
 */
function utf8(bytes: Uint8Array): string {
  if (!Buffer.isBuffer(bytes)) return decoder.decode(bytes);
  const text = bytes.toString("utf8");
  return text.includes("\uFFFD") ? decoder.decode(bytes) : text;
}

/**
 * {@linkcode validateJobEvent} for a value this module parsed: valid input is
 * returned as it is after the compiled check (`fast_check.ts`); zod runs only
 * on input the check refuses, for its messages.
 */
function validateParsed(value: unknown, options: ValidateOptions = {}): JobEvent {
  if (typeof value === "object" && value !== null) {
    const type = (value as Record<string, unknown>).type;
    fastChecks ??= compileFastChecks();
    const check = fastChecks.get(type as JobType);
    if (check?.(value)) {
      checkNotFuture(value, options);
      return value;
    }
  }
  return validateJobEvent(value, options);
}

/**
 * Checks that `value` is a valid job event and returns it typed.
 *
 * @throws {JobDecodeError} naming every field at fault.
 */
export function validateJobEvent(value: unknown, options: ValidateOptions = {}): JobEvent {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new JobDecodeError("Invalid job event: expected a JSON object", {
      field: "",
      problem: "invalid_json",
    });
  }
  const type = (value as Record<string, unknown>).type;
  if (!isJobType(type)) {
    throw new JobDecodeError(
      `Invalid job event: field "type": unknown job type ${JSON.stringify(type)}, expected one of ${
        JOB_TYPES.join(", ")
      }`,
      { field: "type", problem: "unknown_type" },
    );
  }
  const result = jobEventSchema.safeParse(value);
  if (!result.success) {
    const issues = (result.error.issues as z.core.$ZodIssue[]).map((issue) => ({
      field: formatPath(issue.path),
      message: issue.message,
    }));
    const fields = issues.map(({ field, message }) => `field "${field}": ${message}`);
    throw new JobDecodeError(
      `Invalid job event of type ${type}: ${fields.join("; ")}`,
      { field: issues[0]?.field ?? "", problem: "invalid_field", issues },
      { cause: result.error },
    );
  }
  checkNotFuture(result.data, options);
  return result.data;
}

function checkNotFuture(event: JobEvent, options: ValidateOptions): void {
  const skewMs = options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
  const now = options.now ?? Date.now();
  if (clearlyBefore(event.timestamp, now + skewMs)) return;
  const time = Date.parse(event.timestamp);
  if (time - now <= skewMs) return;
  const message = `dated ${event.timestamp}, more than ${
    Math.round(skewMs / 1000)
  } s after the worker's clock (${
    new Date(now).toISOString()
  }): fix the producer's clock or raise MAX_CLOCK_SKEW_MS`;
  throw new JobDecodeError(
    `Invalid job event of type ${event.type}: field "timestamp": ${message}`,
    { field: "timestamp", problem: "invalid_field" },
  );
}

let limitSecond = Number.NaN;
let limitText = "";

/**
 * True when `timestamp`, a valid UTC date-time (`…Z`), lies before the second
 * of `limit`: ISO texts of the same layout compare like their times, and the
 * limit's text is made once a second, not `Date.parse` once a job. Anything
 * else (an offset, the same second) is left to `Date.parse`.
 */
function clearlyBefore(timestamp: string, limit: number): boolean {
  if (timestamp.charCodeAt(timestamp.length - 1) !== 90 /* Z */) return false;
  const second = Math.floor(limit / 1000);
  if (second !== limitSecond) {
    const text = new Date(second * 1000).toISOString();
    // Years past 9999 have another layout: no shortcut then.
    limitText = text.length === 24 ? text.slice(0, 19) : "";
    limitSecond = second;
  }
  return timestamp < limitText;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((part) => typeof part === "number" ? `[${part}]` : String(part))
    .join(".").replaceAll(".[", "[");
}
