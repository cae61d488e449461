import assert from "node:assert/strict";
import { parseSeedArgs } from "./seed.ts";
import { UsageError } from "./common.ts";

Deno.test("seed arguments have defaults and are checked", () => {
  const defaults = parseSeedArgs([]);
  assert.deepEqual(defaults, {
    help: false,
    users: 1000,
    referrerShare: 0.1,
    points: 1,
    name: "Demo campaign",
    rewards: 5,
    webhookUrl: undefined,
  });
  const custom = parseSeedArgs(["--users", "50", "--points", "3", "--webhook-url", "http://x/y"]);
  assert.equal(custom.users, 50);
  assert.equal(custom.points, 3);
  assert.equal(custom.webhookUrl, "http://x/y");
  assert.throws(() => parseSeedArgs(["--users", "0"]), UsageError);
  assert.throws(() => parseSeedArgs(["--referrer-share", "2"]), /--referrer-share/);
  assert.throws(() => parseSeedArgs(["--webhook-url", "ftp://x"]), /--webhook-url/);
});
