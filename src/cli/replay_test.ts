import assert from "node:assert/strict";
import { formatChanges, parseReplayArgs } from "./replay.ts";
import { UsageError } from "./common.ts";

Deno.test("replay takes --to-earliest or an ISO --to-time, never both or neither", () => {
  assert.deepEqual(parseReplayArgs(["--to-earliest"]).to, { earliest: true });
  assert.deepEqual(parseReplayArgs(["--to-time", "2026-11-28T09:00:00Z"]).to, {
    time: new Date("2026-11-28T09:00:00Z"),
  });
  assert.throws(() => parseReplayArgs([]), UsageError);
  assert.throws(
    () => parseReplayArgs(["--to-earliest", "--to-time", "2026-11-28T09:00:00Z"]),
    UsageError,
  );
});

Deno.test("replay names --to-time when the timestamp is not ISO 8601", () => {
  assert.throws(() => parseReplayArgs(["--to-time", "yesterday"]), /--to-time/);
  assert.throws(() => parseReplayArgs(["--to-time", "2026-13-45T00:00:00Z"]), /--to-time/);
});

Deno.test("replay passes group, topic and dry-run through", () => {
  const parsed = parseReplayArgs(["--to-earliest", "--group", "g", "--topic", "t", "--dry-run"]);
  assert.equal(parsed.group, "g");
  assert.equal(parsed.topic, "t");
  assert.equal(parsed.dryRun, true);
  assert.equal(parseReplayArgs(["--help"]).help, true);
});

Deno.test("the change table shows a partition never committed as -", () => {
  const table = formatChanges("jobs", [{ partition: 0, from: null, to: 0 }, {
    partition: 1,
    from: 12,
    to: 3,
  }]);
  assert.deepEqual(table.split("\n").map((line) => line.split(/\s+/)), [
    ["TOPIC", "PARTITION", "OLD-OFFSET", "NEW-OFFSET"],
    ["jobs", "0", "-", "0"],
    ["jobs", "1", "12", "3"],
  ]);
});
