/**
 * The database client after an outage, on a PostgreSQL server of the test's
 * own (it is stopped and started again, which the run's shared server cannot
 * be): queries queued while the server was down run soon after it is back.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createDatabaseClient } from "../../src/db/mod.ts";
import { startPostgres } from "../env/postgres.ts";

Deno.test("queries run within seconds of PostgreSQL's return after an outage of failed connects", async () => {
  const logDir = await Deno.makeTempDir({ prefix: "jobpool-db-outage-" });
  const server = await startPostgres({ logDir });
  const sql = createDatabaseClient({
    url: server.url,
    poolMax: 5,
    connectTimeoutSeconds: 10,
    idleTimeoutSeconds: 0,
    statementTimeoutMs: 0,
  });
  try {
    await Promise.all([1, 2, 3, 4, 5].map(() => sql`select pg_sleep(0.05)`));
    await server.halt("fast");
    // Queries fail while the server is down, and every failed connect makes
    // postgres.js's own pause longer (3^n / 100 s, up to 20 s).
    let failed = 0;
    const downUntil = Date.now() + 6_000;
    while (Date.now() < downUntil) {
      await sql`select 1`.catch(() => failed++);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(failed > 10, `only ${failed} queries failed while the server was down`);
    await server.restart();
    const back = performance.now();
    // Five queries on the pool's five connections, each queued behind its
    // connection's reconnect pause.
    const waits = await Promise.all(
      [1, 2, 3, 4, 5].map(async () => {
        await sql`select 1`;
        return performance.now() - back;
      }),
    );
    const longest = Math.max(...waits);
    // The pause is at most 1 s; with postgres.js's schedule these waited 4.6–10.5 s.
    assert.ok(
      longest < 4_000,
      `queries waited ${Math.round(longest)} ms after the server was back`,
    );
  } finally {
    await sql.end({ timeout: 1 });
    await server.stop();
    await Deno.remove(logDir, { recursive: true });
  }
});
