import assert from "node:assert/strict";
import { derivedUuid } from "./ledger.ts";

Deno.test("derivedUuid is stable, distinct per name, and a version 8 UUID", async () => {
  const a = await derivedUuid("event/user-1");
  assert.equal(a, await derivedUuid("event/user-1"));
  assert.notEqual(a, await derivedUuid("event/user-2"));
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});
