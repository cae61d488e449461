import assert from "node:assert/strict";
import { join } from "node:path";
import postgres from "postgres";
import { createDatabaseClient, runMigrations, seedCampaign } from "../../src/db/mod.ts";
import { createJobHandlers, type HandlerDeps, pruneLedger } from "../../src/handlers/mod.ts";
import { createJobEvent, PermanentJobError } from "../../src/jobs/mod.ts";
import { createSmtpMailer } from "../../src/mail/mod.ts";
import { databaseUrl } from "../env/services.ts";
import { startSmtp } from "../env/smtp.ts";
import { emptyDatabase, migratedDatabase } from "./_database_fixture.ts";
import { handlerContext, mailConfigFrom } from "./_handler_fixture.ts";

const context = () => handlerContext("database");

/**
 * A TCP proxy in front of PostgreSQL that can be taken down (refusing and
 * dropping connections) and brought back on the same port.
 */
function tcpProxy(target: { hostname: string; port: number }) {
  let listener: Deno.TcpListener | undefined;
  const open = new Set<Deno.Conn>();
  let port = 0;
  const serve = (current: Deno.TcpListener) => {
    (async () => {
      for await (const client of current) {
        try {
          const upstream = await Deno.connect(target);
          open.add(client);
          open.add(upstream);
          const done = () => {
            for (const conn of [client, upstream]) {
              open.delete(conn);
              try {
                conn.close();
              } catch { /* closed already */ }
            }
          };
          client.readable.pipeTo(upstream.writable).catch(() => {}).finally(done);
          upstream.readable.pipeTo(client.writable).catch(() => {}).finally(done);
        } catch {
          client.close();
        }
      }
    })().catch(() => {});
  };
  return {
    get port() {
      return port;
    },
    up() {
      listener = Deno.listen({ hostname: "127.0.0.1", port });
      port = listener.addr.port;
      serve(listener);
    },
    down() {
      listener?.close();
      listener = undefined;
      for (const conn of open) {
        try {
          conn.close();
        } catch { /* closed already */ }
      }
      open.clear();
    },
  };
}

Deno.test("migrations run once when workers start together", async () => {
  const db = await emptyDatabase("handlers_migrate");
  try {
    const results = await Promise.all(
      Array.from({ length: 4 }, () => runMigrations({ url: db.url })),
    );
    const applied = results.flatMap((result) => result.applied.map((m) => m.name));
    assert.deepEqual(applied, [
      "initial_schema",
      "points_per_referral_set_at",
      "processed_events_retention",
      "claim_tokens",
    ]);
    assert.ok(results.every((result) => result.version === 4));
    const again = await runMigrations({ url: db.url });
    assert.deepEqual(again, { applied: [], version: 4 });
  } finally {
    await db.drop();
  }
});

Deno.test("a failing migration applies nothing of its run", async () => {
  const db = await emptyDatabase("handlers_migrate_fail");
  const dir = await Deno.makeTempDir({ prefix: "jobpool-migrations-" });
  try {
    await Deno.mkdir(join(dir, "00001_first"));
    await Deno.writeTextFile(join(dir, "00001_first", "index.sql"), "create table first (id int);");
    await Deno.mkdir(join(dir, "00002_broken"));
    await Deno.writeTextFile(join(dir, "00002_broken", "index.sql"), "create tabel broken;");
    await assert.rejects(runMigrations({ url: db.url, dir }), /syntax error/);
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql<{ exists: boolean }[]>`
        select to_regclass('first') is not null as exists
      `;
      assert.equal(row?.exists, false);
    } finally {
      await sql.end();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await db.drop();
  }
});

Deno.test("database down: jobs fail retryably, then succeed when it is back", async () => {
  const db = await emptyDatabase("handlers_db_down");
  const catcher = await startSmtp();
  const target = new URL(databaseUrl());
  const proxy = tcpProxy({ hostname: target.hostname, port: Number(target.port || 5432) });
  proxy.up();
  const viaProxy = new URL(db.url);
  viaProxy.host = `127.0.0.1:${proxy.port}`;
  await runMigrations({ url: db.url });
  const sql = createDatabaseClient({
    url: viaProxy.href,
    poolMax: 3,
    connectTimeoutSeconds: 2,
    idleTimeoutSeconds: 0,
    statementTimeoutMs: 0,
  });
  const config = mailConfigFrom({ SMTP_URL: catcher.url, SMTP_STARTTLS: "off" });
  const mailer = createSmtpMailer({ smtp: config.smtp, from: config.from });
  const deps: HandlerDeps = { sql, mailer, config };
  const handlers = createJobHandlers(deps);
  try {
    const seeded = await seedCampaign(sql, { users: 50, pendingRewards: 1 });
    const [user] = await sql<{ id: string }[]>`
      select id from waitlist_users where campaign_id = ${seeded.campaignId} limit 1
    `;
    const base = { accountId: seeded.accountId, campaignId: seeded.campaignId };
    const recalc = createJobEvent({
      ...base,
      type: "job.position.recalculate",
      data: { campaign_id: seeded.campaignId, points_per_referral: 2 },
    });
    const welcome = createJobEvent({
      ...base,
      type: "job.email.welcome",
      data: { type: "welcome", campaign_id: seeded.campaignId, user_id: user!.id, priority: 1 },
    });
    const reward = createJobEvent({
      ...base,
      type: "job.reward.deliver",
      data: { user_reward_id: seeded.userRewardIds[0]! },
    });

    proxy.down();
    const failures = await Promise.all([
      handlers["job.position.recalculate"](recalc, context()).then(() => undefined, (e) => e),
      handlers["job.email.welcome"](welcome, context()).then(() => undefined, (e) => e),
      handlers["job.reward.deliver"](reward, context()).then(() => undefined, (e) => e),
    ]);
    for (const failure of failures) {
      assert.ok(failure instanceof Error, `each job fails while the database is down: ${failure}`);
      assert.ok(!(failure instanceof PermanentJobError), `and is retried: ${failure}`);
    }
    assert.equal(catcher.messages.length, 0);

    proxy.up();
    await handlers["job.position.recalculate"](recalc, context());
    await handlers["job.email.welcome"](welcome, context());
    await handlers["job.reward.deliver"](reward, context());
    await catcher.waitForMessages(2);
    const [state] = await sql<{ version: string; delivered: number }[]>`
      select (select positions_version::text from campaigns where id = ${seeded.campaignId}) as version,
        (select count(*)::int from user_rewards where status = 'delivered') as delivered
    `;
    assert.ok(state?.version !== null);
    assert.equal(state?.delivered, 1);
  } finally {
    mailer.close();
    await sql.end({ timeout: 1 });
    proxy.down();
    await catcher.stop();
    await db.drop();
  }
});

Deno.test("pruneLedger deletes only entries past the retention, in batches; the age index exists", async () => {
  const db = await migratedDatabase("handlers_prune", { poolMax: 2 });
  const { sql } = db;
  try {
    const insert = (count: number, ageDays: number) =>
      sql`
        insert into processed_events (event_id, job_type, outcome, processed_at)
        select gen_random_uuid(), 'job.reward.deliver', 'delivered',
          now() - make_interval(days => ${ageDays})
        from generate_series(1, ${count})
      `;
    await insert(12, 40);
    await insert(3, 29);
    const recent = await sql<{ event_id: string }[]>`select event_id from processed_events
      where processed_at > now() - interval '30 days' order by event_id`;

    assert.equal(await pruneLedger(sql, { retentionDays: 30, batchSize: 5 }), 12);
    assert.deepEqual(
      await sql`select event_id from processed_events order by event_id`,
      recent,
    );
    assert.equal(await pruneLedger(sql, { retentionDays: 30 }), 0);
    await assert.rejects(pruneLedger(sql, { retentionDays: 0 }), RangeError);
    assert.equal((await sql`select count(*)::int as n from processed_events`)[0]?.n, 3);
    const [index] = await sql`
      select indexdef from pg_indexes where indexname = 'processed_events_processed_at'
    `;
    assert.match(String(index?.indexdef), /\(processed_at\)/);
  } finally {
    await db.drop();
  }
});
