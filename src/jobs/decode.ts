/**
 * Turning bytes into a valid {@linkcode JobEvent}, with a typed error that
 * names the field at fault for everything else.
 *
 * @module
 */

import type { z } from "zod";
import { JobDecodeError } from "./errors.ts";
import { isJobType, JOB_TYPES } from "./job_types.ts";
import { type JobEvent, jobEventSchema } from "./schema.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes a Kafka message value into a job event.
 *
 * @throws {JobDecodeError} when the value is empty, not UTF-8 JSON, of an
 * unknown type, or has a missing or mistyped field.
 */
export function decodeJobEvent(value: Uint8Array | string | null | undefined): JobEvent {
  if (value === null || value === undefined || value.length === 0) {
    throw new JobDecodeError("Invalid job event: the message has no value", {
      field: "",
      problem: "invalid_json",
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === "string" ? value : decoder.decode(value));
  } catch (cause) {
    throw new JobDecodeError(`Invalid job event: not UTF-8 JSON: ${(cause as Error).message}`, {
      field: "",
      problem: "invalid_json",
    }, { cause });
  }
  return validateJobEvent(parsed);
}

/**
 * Checks that `value` is a valid job event and returns it typed.
 *
 * @throws {JobDecodeError} naming the first field at fault.
 */
export function validateJobEvent(value: unknown): JobEvent {
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
  if (result.success) return result.data;
  const issue = result.error.issues[0] as z.core.$ZodIssue;
  const field = formatPath(issue.path);
  throw new JobDecodeError(
    `Invalid job event of type ${type}: field "${field}": ${issue.message}`,
    { field, problem: "invalid_field" },
    { cause: result.error },
  );
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((part) => typeof part === "number" ? `[${part}]` : String(part))
    .join(".").replaceAll(".[", "[");
}
