import assert from "node:assert/strict";
import { formatTable, parseCount, UsageError } from "./common.ts";

Deno.test("tables pad every column to its widest cell", () => {
  assert.equal(
    formatTable(["A", "LONG-HEADER"], [["wide cell", "1"], ["x", "22"]]),
    ["A          LONG-HEADER", "wide cell  1", "x          22"].join("\n"),
  );
});

Deno.test("counts are whole numbers at or above the minimum, named by their flag", () => {
  assert.equal(parseCount("12", "--limit", 1), 12);
  assert.throws(() => parseCount("0", "--limit", 1), UsageError);
  assert.throws(() => parseCount("1.5", "--limit"), /--limit must be a whole number/);
  assert.throws(() => parseCount("-3", "--limit"), /got "-3"/);
});
