/**
 * Which dead letters the list shows and a replay of "all matching" takes:
 * by job type, error class and when they were dead-lettered.
 *
 * @module
 */

import type { DeadLetter, DeadLetterPosition } from "../../cli/dead_letters.ts";
import { formatPosition, parsePosition } from "../../cli/dead_letters.ts";
import { InputError, shown } from "../input_error.ts";

/** What a dead letter must match; unset fields match everything. */
export interface DeadLetterFilter {
  /** The job type, exactly (`job.email.welcome`). */
  type?: string;
  /** The error class, exactly (`PermanentJobError`). */
  errorClass?: string;
  /** Dead-lettered at or after. */
  from?: Date;
  /** Dead-lettered before. */
  to?: Date;
}

/** The most positions one replay takes. */
export const MAX_REPLAY = 10_000;

/**
 * Reads a filter from query or form fields `type`, `error_class`, `from` and
 * `to` (ISO 8601, or the `YYYY-MM-DDTHH:MM` of a datetime-local input, read as UTC).
 *
 * @throws {InputError} naming the field with a bad value.
 */
export function parseDeadLetterFilter(fields: URLSearchParams): DeadLetterFilter {
  const filter: DeadLetterFilter = {};
  const type = fields.get("type")?.trim();
  if (type) filter.type = type;
  const errorClass = fields.get("error_class")?.trim();
  if (errorClass) filter.errorClass = errorClass;
  const from = parseTime(fields, "from");
  if (from) filter.from = from;
  const to = parseTime(fields, "to");
  if (to) filter.to = to;
  if (from && to && from >= to) throw new InputError("to", "must be later than from");
  return filter;
}

function parseTime(fields: URLSearchParams, field: string): Date | undefined {
  const text = fields.get(field)?.trim();
  if (!text) return undefined;
  const withZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text)
    ? `${text}Z`
    : text;
  const date = new Date(withZone);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(date.getTime())) {
    throw new InputError(
      field,
      `must be a date and time such as 2026-11-28T09:00:00Z, got ${shown(text)}`,
    );
  }
  return date;
}

/** Whether `letter` matches every set field of `filter`. */
export function matchesFilter(letter: DeadLetter, filter: DeadLetterFilter): boolean {
  if (filter.type !== undefined && letter.job.type !== filter.type) return false;
  if (filter.errorClass !== undefined && letter.error.class !== filter.errorClass) return false;
  if (filter.from && letter.timestamp < filter.from) return false;
  if (filter.to && letter.timestamp >= filter.to) return false;
  return true;
}

/** The filter as query fields, for links and hidden form fields. */
export function filterFields(filter: DeadLetterFilter): URLSearchParams {
  const fields = new URLSearchParams();
  if (filter.type) fields.set("type", filter.type);
  if (filter.errorClass) fields.set("error_class", filter.errorClass);
  if (filter.from) fields.set("from", filter.from.toISOString());
  if (filter.to) fields.set("to", filter.to.toISOString());
  return fields;
}

/** The job types and error classes present, sorted, for the filter's choices. */
export function filterChoices(
  letters: readonly DeadLetter[],
): { types: string[]; errorClasses: string[] } {
  const types = new Set<string>();
  const errorClasses = new Set<string>();
  for (const letter of letters) {
    if (letter.job.type) types.add(letter.job.type);
    if (letter.error.class) errorClasses.add(letter.error.class);
  }
  return { types: [...types].sort(), errorClasses: [...errorClasses].sort() };
}

/**
 * Reads the `position` fields of a replay form (each `partition:offset`),
 * without duplicates.
 *
 * @throws {InputError} naming `position` when one is malformed, none is
 * given, or more than {@linkcode MAX_REPLAY} are.
 */
export function parsePositions(values: readonly string[]): DeadLetterPosition[] {
  const positions = new Map<string, DeadLetterPosition>();
  for (const value of values) {
    const position = parsePosition(value.trim());
    if (!position) {
      throw new InputError(
        "position",
        `must be partition:offset such as 0:42, got ${shown(value)}`,
      );
    }
    positions.set(formatPosition(position), position);
  }
  if (positions.size === 0) throw new InputError("position", "choose at least one dead letter");
  if (positions.size > MAX_REPLAY) {
    throw new InputError("position", `at most ${MAX_REPLAY} at once, got ${positions.size}`);
  }
  return [...positions.values()];
}
