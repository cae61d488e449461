import assert from "node:assert/strict";
import { UsageError } from "./common.ts";
import { parseDlqArgs } from "./dlq.ts";

Deno.test("dlq list takes a limit", () => {
  assert.deepEqual(parseDlqArgs(["list"]), { command: "list", limit: 100 });
  assert.deepEqual(parseDlqArgs(["list", "--limit", "5"]), { command: "list", limit: 5 });
  assert.throws(() => parseDlqArgs(["list", "--limit", "x"]), /--limit/);
});

Deno.test("dlq show takes exactly one partition:offset", () => {
  assert.deepEqual(parseDlqArgs(["show", "1:20"]), {
    command: "show",
    position: { partition: 1, offset: "20" },
  });
  assert.throws(() => parseDlqArgs(["show"]), UsageError);
  assert.throws(() => parseDlqArgs(["show", "20"]), /partition:offset/);
});

Deno.test("dlq replay takes --all or positions, not both", () => {
  assert.deepEqual(parseDlqArgs(["replay", "--all"]), { command: "replay", positions: "all" });
  assert.deepEqual(parseDlqArgs(["replay", "0:1", "2:3"]), {
    command: "replay",
    positions: [{ partition: 0, offset: "1" }, { partition: 2, offset: "3" }],
  });
  assert.throws(() => parseDlqArgs(["replay"]), UsageError);
  assert.throws(() => parseDlqArgs(["replay", "--all", "0:1"]), UsageError);
});

Deno.test("dlq names an unknown command", () => {
  assert.throws(() => parseDlqArgs(["purge"]), /Unknown command "purge"/);
  assert.deepEqual(parseDlqArgs(["--help"]), { command: "help" });
});
