import assert from "node:assert/strict";
import type { DeadLetter } from "../../cli/dead_letters.ts";
import { InputError } from "../input_error.ts";
import {
  filterChoices,
  filterFields,
  matchesFilter,
  parseDeadLetterFilter,
  parsePositions,
} from "./filter.ts";

function letter(offset: string, type: string, errorClass: string, at: string): DeadLetter {
  return {
    partition: 0,
    offset,
    timestamp: new Date(at),
    key: null,
    value: null,
    headers: {},
    original: {},
    error: { class: errorClass },
    job: { type },
  };
}

const letters = [
  letter("0", "job.email.welcome", "PermanentJobError", "2026-11-28T08:00:00Z"),
  letter("1", "job.reward.deliver", "MailSendError", "2026-11-28T09:30:00Z"),
  letter("2", "job.email.welcome", "MailSendError", "2026-11-28T10:00:00Z"),
];

function pick(query: string): string[] {
  const filter = parseDeadLetterFilter(new URLSearchParams(query));
  return letters.filter((l) => matchesFilter(l, filter)).map((l) => l.offset);
}

Deno.test("dead letters filter by type, error class and time", () => {
  assert.deepEqual(pick(""), ["0", "1", "2"]);
  assert.deepEqual(pick("type=job.email.welcome"), ["0", "2"]);
  assert.deepEqual(pick("type=job.email.welcome&error_class=MailSendError"), ["2"]);
  assert.deepEqual(pick("from=2026-11-28T09:00&to=2026-11-28T10:00:00Z"), ["1"]);
});

Deno.test("a bad filter names its field", () => {
  assert.throws(
    () => parseDeadLetterFilter(new URLSearchParams("from=yesterday")),
    (error: unknown) =>
      error instanceof InputError && error.field === "from" &&
      /^from: must be a date and time/.test(error.message),
  );
  assert.throws(
    () => parseDeadLetterFilter(new URLSearchParams("from=2026-11-28&to=2026-11-27")),
    /to: must be later than from/,
  );
});

Deno.test("a filter round-trips through its fields, and choices come from the letters", () => {
  const filter = parseDeadLetterFilter(new URLSearchParams("type=a&from=2026-11-28T09:00:00Z"));
  assert.deepEqual(parseDeadLetterFilter(filterFields(filter)), filter);
  assert.deepEqual(filterChoices(letters), {
    types: ["job.email.welcome", "job.reward.deliver"],
    errorClasses: ["MailSendError", "PermanentJobError"],
  });
});

Deno.test("replay positions are parsed, deduplicated and checked", () => {
  assert.deepEqual(parsePositions(["0:1", " 0:1", "2:30"]), [
    { partition: 0, offset: "1" },
    { partition: 2, offset: "30" },
  ]);
  assert.throws(() => parsePositions(["0-1"]), /position: must be partition:offset/);
  assert.throws(() => parsePositions([]), /position: choose at least one/);
});
