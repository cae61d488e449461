import assert from "node:assert/strict";
import type { DatabaseConfig } from "../config/mod.ts";
import { createDatabaseClient, reconnectDelaySeconds } from "./client.ts";

type ClientConfig = Parameters<typeof createDatabaseClient>[0];

/** A client config with these settings; the rest as a test does not care. */
function clientConfig(overrides: Partial<ClientConfig> = {}): ClientConfig {
  return {
    url: "postgres://jobs@db.invalid/jobpool",
    poolMax: 1,
    connectTimeoutSeconds: 3,
    idleTimeoutSeconds: 0,
    statementTimeoutMs: 0,
    ...overrides,
  } satisfies Partial<DatabaseConfig>;
}

Deno.test("the client is built from the config without connecting", async () => {
  const sql = createDatabaseClient(clientConfig({
    url: "postgres://jobs:secret@db.invalid:6543/jobpool",
    poolMax: 7,
    statementTimeoutMs: 5_000,
  }));
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

Deno.test("reconnects are paced 50 ms doubling to 1 s, with equal jitter", () => {
  const low = () => 0;
  const high = () => 1 - Number.EPSILON;
  assert.equal(reconnectDelaySeconds(0, low), 0.025);
  assert.equal(reconnectDelaySeconds(1, low), 0.05);
  assert.ok(reconnectDelaySeconds(1, high) < 0.1);
  for (const retries of [5, 10, 50, 1_000]) {
    assert.equal(reconnectDelaySeconds(retries, low), 0.5);
    assert.ok(reconnectDelaySeconds(retries, high) <= 1);
  }
});

Deno.test("the client's reconnect pause is jobpool's, not postgres.js's (up to 20 s)", async () => {
  const sql = createDatabaseClient(clientConfig());
  try {
    assert.equal((sql.options as { backoff?: unknown }).backoff, reconnectDelaySeconds);
  } finally {
    await sql.end({ timeout: 0 });
  }
});
