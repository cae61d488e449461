import assert from "node:assert/strict";
import { ConfigError, EnvReader } from "./env_reader.ts";
import { DEFAULT_DATABASE_URL, readDatabaseConfig } from "./database.ts";

Deno.test("database config defaults to the local jobpool database", () => {
  const reader = new EnvReader({});
  const config = readDatabaseConfig(reader);
  reader.done();
  assert.equal(config.url, DEFAULT_DATABASE_URL);
  assert.equal(config.poolMax, 10);
  assert.equal(config.migrateOnStart, true);
});

Deno.test("database config names the bad variable", () => {
  const reader = new EnvReader({ DATABASE_URL: "mysql://x/y", DATABASE_POOL_MAX: "0" });
  readDatabaseConfig(reader);
  assert.throws(() => reader.done(), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.problems.map((p) => p.variable), ["DATABASE_URL", "DATABASE_POOL_MAX"]);
    return true;
  });
});
