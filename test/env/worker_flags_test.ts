import assert from "node:assert/strict";
import { workerV8Flags } from "./worker_flags.ts";

Deno.test("the worker's V8 flags are read from deno task worker", () => {
  const flags = workerV8Flags();
  assert.equal(flags.length, 1);
  assert.match(flags[0]!, /^--v8-flags=.*--max-semi-space-size=8/);
  assert.match(flags[0]!, /--heap-growing-percent=200/);
});
