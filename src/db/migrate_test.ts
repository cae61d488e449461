import assert from "node:assert/strict";
import { join } from "node:path";
import { MIGRATIONS_DIR } from "./migrate.ts";

Deno.test("migrations are numbered without gaps, one index.sql each", async () => {
  const names: string[] = [];
  for await (const entry of Deno.readDir(MIGRATIONS_DIR)) names.push(entry.name);
  names.sort();
  assert.ok(names.length > 0);
  names.forEach((name, index) => {
    assert.match(name, /^\d{5}_[a-z0-9_]+$/);
    assert.equal(Number(name.slice(0, 5)), index + 1, `${name} is out of sequence`);
  });
  for (const name of names) {
    const sql = await Deno.readTextFile(join(MIGRATIONS_DIR, name, "index.sql"));
    assert.ok(sql.trim().length > 0, `${name}/index.sql is empty`);
  }
});
