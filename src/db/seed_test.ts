import assert from "node:assert/strict";
import type { Sql } from "./client.ts";
import { seedCampaign } from "./seed.ts";

Deno.test("seedCampaign refuses a user count that is not a positive integer", async () => {
  const unused = {} as Sql;
  for (const users of [0, -1, 1.5]) {
    await assert.rejects(seedCampaign(unused, { users }), RangeError);
  }
});
