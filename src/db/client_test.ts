import assert from "node:assert/strict";
import { createDatabaseClient } from "./client.ts";

Deno.test("the client is built from the config without connecting", async () => {
  const sql = createDatabaseClient({
    url: "postgres://jobs:secret@db.invalid:6543/jobpool",
    poolMax: 7,
    connectTimeoutSeconds: 3,
    idleTimeoutSeconds: 0,
    statementTimeoutMs: 5_000,
  });
  try {
    assert.equal(sql.options.max, 7);
    assert.deepEqual(sql.options.host, ["db.invalid"]);
    assert.deepEqual(sql.options.port, [6543]);
    assert.equal(sql.options.connection.application_name, "jobpool");
    assert.equal(sql.options.connection.statement_timeout, 5_000);
  } finally {
    await sql.end({ timeout: 0 });
  }
});
