import assert from "node:assert/strict";
import postgres from "postgres";
import { startPostgres } from "./postgres.ts";
import { portOpen } from "./process.ts";

Deno.test("startPostgres runs a real server with isolated databases", async (t) => {
  const logDir = await Deno.makeTempDir({ prefix: "jobpool-postgres-test-" });
  const started = performance.now();
  const service = await startPostgres({ logDir });
  const seconds = (performance.now() - started) / 1000;
  console.log(`postgres cold start: ${seconds.toFixed(2)} s; ${service.version}`);
  let passed = false;
  try {
    await t.step("reports its version and URL", () => {
      assert.match(service.version, /^PostgreSQL \d+/);
      assert.equal(service.url, `postgres://postgres@127.0.0.1:${service.port}/jobpool`);
    });

    await t.step("creates, fills and reads a table in jobpool", async () => {
      const sql = postgres(service.url, { max: 1, onnotice: () => {} });
      try {
        await sql`create table jobs (id serial primary key, name text not null)`;
        await sql`insert into jobs ${sql([{ name: "send-mail" }, { name: "resize" }])}`;
        const rows = await sql<{ name: string }[]>`select name from jobs order by id`;
        assert.deepEqual(rows.map((row) => row.name), ["send-mail", "resize"]);
        const [database] = await sql<{ name: string }[]>`select current_database() as name`;
        assert.equal(database?.name, "jobpool");
      } finally {
        await sql.end();
      }
    });

    await t.step("gives each createDatabase call a database of its own", async () => {
      const url = await service.createDatabase("isolated_a");
      assert.equal(url, `postgres://postgres@127.0.0.1:${service.port}/isolated_a`);
      const isolated = postgres(url, { max: 1, onnotice: () => {} });
      const main = postgres(service.url, { max: 1, onnotice: () => {} });
      try {
        await isolated`create table only_here (n int)`;
        const [seen] = await isolated`select to_regclass('only_here') is not null as found`;
        assert.equal(seen?.["found"], true);
        const [unseen] = await main`select to_regclass('only_here') is not null as found`;
        assert.equal(unseen?.["found"], false);
        const [jobs] = await isolated`select to_regclass('jobs') is not null as found`;
        assert.equal(jobs?.["found"], false);
      } finally {
        await isolated.end();
        await main.end();
      }
    });

    await t.step("refuses bad and duplicate database names", async () => {
      await assert.rejects(service.createDatabase("Bad-Name"), TypeError);
      await assert.rejects(service.createDatabase("isolated_a"), /already exists/);
    });

    await t.step("stops and frees its port", async () => {
      await service.stop();
      assert.equal(await portOpen(service.port), false);
      await service.stop();
    });
    passed = true;
  } finally {
    await service.stop();
    if (passed) await Deno.remove(logDir, { recursive: true });
    else console.error(`postgres logs kept in ${logDir}`);
  }
});
