/**
 * `deno task bench:positions`: position recalculation and email throughput on
 * real services.
 *
 * - Starts a throwaway PostgreSQL (`test/env/postgres.ts`), migrates it, and
 *   seeds a campaign of 1,000,000 users (10 % with verified referrals) with
 *   `generate_series`.
 * - Times the `job.position.recalculate` handler (set-based SQL, one
 *   transaction) on it: the first run, where most positions change; a run
 *   after one new verified referral; and a repeated job with nothing to do.
 * - Times the row-by-row implementation (`positions_row_by_row.ts`) on a
 *   subset campaign (20,000 users by default, same shape) next to the
 *   set-based one on the same subset, and extrapolates the row-by-row time per
 *   user to 1,000,000 users (linear: one query per user plus one update per
 *   changed user).
 * - Sends emails to the in-process SMTP catcher (`test/env/smtp.ts`, same
 *   process and thread as the sender) through the pooled nodemailer mailer,
 *   alone and through the full email handler (database ledger included).
 *
 * Not a test: prints a table and writes `test/bench/results/positions.json`.
 * Targets (issue 4): recalculation of 1M users ≤ 10 s and ≥ 50× row-by-row;
 * ≥ 500 emails/s per worker.
 *
 * Usage: `deno task bench:positions [--users 1000000] [--subset 20000] [--points 10]
 * [--emails 3000] [--smtp-pool 5]`
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { EnvReader, readMailConfig } from "../../src/config/mod.ts";
import { createDatabaseClient, runMigrations, seedCampaign, type Sql } from "../../src/db/mod.ts";
import { deliverEmail } from "../../src/handlers/email/mod.ts";
import type { HandlerContext, HandlerDeps } from "../../src/handlers/mod.ts";
import { handlePositionRecalculation } from "../../src/handlers/positions/mod.ts";
import { createJobEvent } from "../../src/jobs/mod.ts";
import { createSmtpMailer, type Mailer } from "../../src/mail/mod.ts";
import { logger } from "../../src/observability/logging.ts";
import { startPostgres } from "../env/postgres.ts";
import { startSmtp } from "../env/smtp.ts";
import { recalculateRowByRow } from "./positions_row_by_row.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));

const { values } = parseArgs({
  args: Deno.args,
  options: {
    users: { type: "string", default: "1000000" },
    subset: { type: "string", default: "20000" },
    emails: { type: "string", default: "3000" },
    "smtp-pool": { type: "string", default: "5" },
    points: { type: "string", default: "10" },
  },
});
const USERS = Number(values.users);
const SUBSET = Number(values.subset);
const EMAILS = Number(values.emails);
const SMTP_POOL = Number(values["smtp-pool"]);
const POINTS = Number(values.points);

const context: HandlerContext = {
  signal: new AbortController().signal,
  log: logger("bench"),
  attempt: 1,
};

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const started = performance.now();
  const result = await work();
  return { ms: performance.now() - started, result };
}

function recalcJob(campaign: { campaignId: string; accountId: string }, points = POINTS) {
  return createJobEvent({
    type: "job.position.recalculate",
    accountId: campaign.accountId,
    campaignId: campaign.campaignId,
    data: { campaign_id: campaign.campaignId, points_per_referral: points },
  });
}

/** Runs `work` for items 0..count-1 with at most `concurrency` in flight. */
async function parallel(
  count: number,
  concurrency: number,
  work: (index: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await work(next++);
  }));
}

const logDir = await Deno.makeTempDir({ prefix: "jobpool-bench-positions-" });
console.error(`Starting PostgreSQL (logs in ${logDir}) …`);
const postgres = await startPostgres({ logDir });
const smtp = await startSmtp();
const url = await postgres.createDatabase("positions_bench");
await runMigrations({ url });
const sql: Sql = createDatabaseClient({
  url,
  poolMax: 10,
  connectTimeoutSeconds: 10,
  idleTimeoutSeconds: 0,
  statementTimeoutMs: 0,
});
const config = mailSettings(smtp.url);
const mailer = createSmtpMailer({ smtp: config.smtp, from: config.from });
const deps: HandlerDeps = { sql, mailer, config };

try {
  console.error(`Seeding ${USERS.toLocaleString("en-US")} users …`);
  const seed = await timed(() =>
    seedCampaign(sql, { users: USERS, referrerShare: 0.1, name: "Bench campaign" })
  );
  await sql`vacuum analyze waitlist_users`;
  await sql`vacuum analyze referrals`;
  const big = seed.result;
  const referrers = await sql<{ n: number }[]>`
    select count(distinct referrer_id)::int as n from referrals
    where campaign_id = ${big.campaignId} and status = 'verified'
  `;

  console.error("Set-based recalculation of the big campaign …");
  const first = await timed(() => handlePositionRecalculation(deps, recalcJob(big), context));
  // One new verified referral: a late user, not referred yet, joins through an early one.
  const [pair] = await sql<{ referred: string; referrer: string }[]>`
    select
      (select u.id from waitlist_users u where u.campaign_id = ${big.campaignId}
        and not exists (select 1 from referrals r where r.referred_id = u.id)
        order by u.original_position desc limit 1) as referred,
      (select id from waitlist_users where campaign_id = ${big.campaignId}
        and original_position = ${Math.ceil(USERS / 2)}) as referrer
  `;
  await sql`
    insert into referrals (campaign_id, referrer_id, referred_id, status, verified_at)
    values (${big.campaignId}, ${pair!.referrer}, ${pair!.referred}, 'verified', now())
  `;
  const incremental = await timed(() => handlePositionRecalculation(deps, recalcJob(big), context));
  const noop = await timed(() => handlePositionRecalculation(deps, recalcJob(big), context));

  console.error(`Row-by-row vs set-based on ${SUBSET.toLocaleString("en-US")} users …`);
  const subsetA = await seedCampaign(sql, { users: SUBSET, referrerShare: 0.1, randomSeed: 0.3 });
  const subsetB = await seedCampaign(sql, { users: SUBSET, referrerShare: 0.1, randomSeed: 0.3 });
  await sql`analyze waitlist_users`;
  await sql`analyze referrals`;
  const rowByRow = await timed(() =>
    recalculateRowByRow(sql, { campaignId: subsetA.campaignId, pointsPerReferral: POINTS })
  );
  const setSubset = await timed(() =>
    handlePositionRecalculation(deps, recalcJob(subsetB), context)
  );
  const sameResult = await sql<{ same: boolean }[]>`
    select bool_and(a.position = b.position) as same
    from waitlist_users a join waitlist_users b on b.original_position = a.original_position
    where a.campaign_id = ${subsetA.campaignId} and b.campaign_id = ${subsetB.campaignId}
  `;
  const rowByRowPerUserMs = rowByRow.ms / SUBSET;
  const rowByRowExtrapolatedMs = rowByRowPerUserMs * USERS;

  console.error(`Emails: ${EMAILS} per run through the pooled mailer (${SMTP_POOL} connections) …`);
  const inFlight = SMTP_POOL * 8;
  const before = smtp.messages.length;
  const inProcess = await timed(() => sendMany(mailer, EMAILS, inFlight));
  await smtp.waitForMessages(before + EMAILS, 60_000);

  const sink = await startSinkProcess();
  const sinkConfig = mailSettings(sink.url);
  const sinkMailer = createSmtpMailer({ smtp: sinkConfig.smtp, from: sinkConfig.from });
  const users = await sql<{ id: string }[]>`
    select id from waitlist_users where campaign_id = ${subsetB.campaignId}
    order by original_position limit ${EMAILS}
  `;
  const handlerEmails = Math.min(EMAILS, users.length);
  let ownProcess: { ms: number };
  let viaHandler: { ms: number };
  try {
    ownProcess = await timed(() => sendMany(sinkMailer, EMAILS, inFlight));
    viaHandler = await timed(() =>
      parallel(handlerEmails, inFlight, (i) =>
        deliverEmail({
          sql,
          mailer: sinkMailer,
          config: sinkConfig,
          kind: "welcome",
          dedupeKey: `bench:${i}`,
          eventId: crypto.randomUUID(),
          userId: users[i]!.id,
          campaignId: subsetB.campaignId,
          signal: context.signal,
          log: context.log,
        }))
    );
    const received = await sink.count();
    if (received !== EMAILS + handlerEmails) {
      throw new Error(`The SMTP sink got ${received} messages, expected ${EMAILS + handlerEmails}`);
    }
  } finally {
    sinkMailer.close();
    await sink.stop();
  }

  const firstOutcome = first.result;
  const results = {
    date: new Date().toISOString(),
    postgres: postgres.version,
    machine: { cpus: navigator.hardwareConcurrency },
    campaign: {
      users: USERS,
      pointsPerReferral: POINTS,
      usersWithVerifiedReferrals: referrers[0]?.n ?? 0,
      verifiedReferrals: big.referrals.verified,
      pendingReferrals: big.referrals.pending,
      seedMs: Math.round(seed.ms),
    },
    setBased: {
      firstRunMs: Math.round(first.ms),
      firstRunChanged: firstOutcome.status === "recalculated" ? firstOutcome.changed : 0,
      afterOneReferralMs: Math.round(incremental.ms),
      afterOneReferralChanged: incremental.result.status === "recalculated"
        ? incremental.result.changed
        : 0,
      nothingToDoMs: Math.round(noop.ms),
      nothingToDoStatus: noop.result.status,
    },
    rowByRow: {
      subsetUsers: SUBSET,
      subsetMs: Math.round(rowByRow.ms),
      subsetChanged: rowByRow.result.changed,
      subsetStatements: rowByRow.result.statements,
      setBasedSubsetMs: Math.round(setSubset.ms),
      sameResult: sameResult[0]?.same ?? false,
      speedupOnSubset: round(rowByRow.ms / setSubset.ms),
      extrapolatedMsFor1M: Math.round(rowByRowExtrapolatedMs),
      extrapolatedSpeedup: round(rowByRowExtrapolatedMs / first.ms),
    },
    email: {
      smtpPoolSize: SMTP_POOL,
      inFlight,
      catcher: "smtp-server + mailparser (test/env/smtp.ts)",
      mailerInProcessCatcher: rate(EMAILS, inProcess.ms),
      mailerCatcherProcess: rate(EMAILS, ownProcess.ms),
      handlerCatcherProcess: rate(handlerEmails, viaHandler.ms),
    },
    targets: { recalculationMs: 10_000, speedup: 50, emailsPerSecond: 500 },
  };

  const rows: [string, string][] = [
    [
      "users (with verified referrals)",
      `${USERS.toLocaleString("en-US")} (${
        results.campaign.usersWithVerifiedReferrals.toLocaleString("en-US")
      })`,
    ],
    ["seed", `${(seed.ms / 1000).toFixed(1)} s`],
    [
      "set-based, first run",
      `${(first.ms / 1000).toFixed(2)} s, ${
        results.setBased.firstRunChanged.toLocaleString("en-US")
      } rows written`,
    ],
    [
      "set-based, after one referral",
      `${(incremental.ms / 1000).toFixed(2)} s, ${
        results.setBased.afterOneReferralChanged.toLocaleString("en-US")
      } rows written`,
    ],
    ["set-based, nothing to do", `${noop.ms.toFixed(0)} ms (${noop.result.status})`],
    [
      `row-by-row, ${SUBSET.toLocaleString("en-US")} users`,
      `${(rowByRow.ms / 1000).toFixed(2)} s (${
        rowByRow.result.statements.toLocaleString("en-US")
      } statements)`,
    ],
    [
      `set-based, ${SUBSET.toLocaleString("en-US")} users`,
      `${setSubset.ms.toFixed(0)} ms (same result: ${results.rowByRow.sameResult})`,
    ],
    ["speed-up on the subset", `${results.rowByRow.speedupOnSubset}×`],
    [
      `row-by-row extrapolated to ${USERS.toLocaleString("en-US")}`,
      `${(rowByRowExtrapolatedMs / 1000).toFixed(0)} s`,
    ],
    [
      `speed-up at ${USERS.toLocaleString("en-US")} (extrapolated)`,
      `${results.rowByRow.extrapolatedSpeedup}×`,
    ],
    [
      `emails, catcher in this process (pool ${SMTP_POOL})`,
      `${results.email.mailerInProcessCatcher.perSecond}/s`,
    ],
    ["emails, catcher in its own process", `${results.email.mailerCatcherProcess.perSecond}/s`],
    [
      "emails, handler + ledger, catcher process",
      `${results.email.handlerCatcherProcess.perSecond}/s`,
    ],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log(rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join("\n"));
  await Deno.mkdir(join(HERE, "results"), { recursive: true });
  await Deno.writeTextFile(
    join(HERE, "results", "positions.json"),
    `${JSON.stringify(results, null, 2)}\n`,
  );
  console.error(`Wrote ${join(HERE, "results", "positions.json")}`);
} finally {
  mailer.close();
  await sql.end({ timeout: 5 });
  await smtp.stop();
  await postgres.stop();
  await Deno.remove(logDir, { recursive: true }).catch(() => {});
}

function rate(messages: number, ms: number) {
  return { messages, ms: Math.round(ms), perSecond: round(messages / ms * 1000) };
}

function mailSettings(smtpUrl: string) {
  const reader = new EnvReader({
    SMTP_URL: smtpUrl,
    SMTP_STARTTLS: "off",
    SMTP_POOL_SIZE: String(SMTP_POOL),
    SMTP_MAX_MESSAGES_PER_CONNECTION: "100000",
    POSITION_UPDATE_EMAILS: "false",
  });
  const settings = readMailConfig(reader);
  reader.done();
  return settings;
}

function sendMany(target: Mailer, count: number, inFlight: number): Promise<void> {
  return parallel(count, inFlight, (i) =>
    target.send({
      to: `user${i}@example.com`,
      subject: `Bench ${i}`,
      text: `Hello ${i}`,
      html: `<p>Hello ${i}</p>`,
    }));
}

/** `positions_smtp_sink.ts` as a child process: its URL, a message count, and stop. */
async function startSinkProcess() {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", join(HERE, "positions_smtp_sink.ts")],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const writer = child.stdin.getWriter();
  let buffer = "";
  const nextLine = async (): Promise<Record<string, unknown>> => {
    while (!buffer.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error("The SMTP sink process ended early");
      buffer += value;
    }
    const end = buffer.indexOf("\n");
    const line = buffer.slice(0, end);
    buffer = buffer.slice(end + 1);
    return JSON.parse(line);
  };
  const { url: sinkUrl } = await nextLine();
  return {
    url: String(sinkUrl),
    async count(): Promise<number> {
      await writer.write(new TextEncoder().encode("\n"));
      return Number((await nextLine()).messages);
    },
    async stop(): Promise<void> {
      await writer.close().catch(() => {});
      await lines.cancel().catch(() => {});
      await child.status;
    },
  };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
