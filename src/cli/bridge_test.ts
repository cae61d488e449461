import assert from "node:assert/strict";
import { formatBridgeProgress, parseBridgeArgs } from "./bridge.ts";
import { UsageError } from "./common.ts";

Deno.test("parses queues, --delayed and --batch-size", () => {
  assert.deepEqual(parseBridgeArgs(["--queue", "emails", "--queue", "jobs", "--delayed"]), {
    help: false,
    queues: ["emails", "jobs"],
    delayed: true,
    batchSize: 500,
  });
  assert.throws(() => parseBridgeArgs(["--batch-size", "0"]), UsageError);
});

Deno.test("the progress line", () => {
  assert.equal(
    formatBridgeProgress({ total: 5000, moved: 1200, invalid: 3, recovered: 0 }, {
      route: "bull:jobs → job-events",
      elapsedMs: 2000,
    }),
    "bull:jobs → job-events: 1200 of 5000 moved (24%), 3 invalid, 600 jobs/s",
  );
});
