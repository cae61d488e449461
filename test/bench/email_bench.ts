/**
 * `deno task bench:email`: email throughput against an SMTP server that is
 * not ours, with PostgreSQL's durable defaults (`fsync`, `synchronous_commit`,
 * full page writes on).
 *
 * The SMTP server is Postfix's `smtp-sink` (Debian's `postfix` package:
 * `apt-get install postfix`; the bench starts `/usr/sbin/smtp-sink` itself and
 * needs no Postfix service), which accepts every message and throws it away.
 *
 * 1. The pooled mailer alone (`createSmtpMailer`), `--in-flight` sends at once.
 * 2. The whole email handler (`deliverEmail`: load and claim in one
 *    statement, render, send, record), `--in-flight` jobs at once, as many
 *    as a worker's pool runs.
 * 3. The whole worker: `--emails` `job.email.welcome` jobs of 100 campaigns
 *    (jobs are keyed by campaign, and a campaign's jobs run in order) on Kafka, then
 *    `src/worker/main.ts` in a process of its own (as `deno task worker`,
 *    with its V8 flags) until every email is recorded as sent; its CPU time
 *    per email is read from `/proc`.
 *
 * Settings other than the defaults are printed with the results. Not a test:
 * prints a table and writes `test/bench/results/email.json`.
 *
 * Usage: `deno task bench:email [--emails 3000] [--in-flight 10] [--smtp-pool 5]
 * [--worker-pool 10] [--runs 3]`
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { EnvReader, loadConfig, readMailConfig } from "../../src/config/mod.ts";
import { createDatabaseClient, runMigrations, seedCampaign, type Sql } from "../../src/db/mod.ts";
import { deliverEmail } from "../../src/handlers/email/mod.ts";
import { createJobEvent } from "../../src/jobs/mod.ts";
import { createSmtpMailer, type Mailer } from "../../src/mail/mod.ts";
import { logger } from "../../src/observability/logging.ts";
import { createJobProducer, ensureTopic } from "../../src/producer/mod.ts";
import { startKafka } from "../env/kafka.ts";
import { startPostgres } from "../env/postgres.ts";
import { workerV8Flags } from "../env/worker_flags.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(HERE, "..", "..");
const SMTP_SINK = "/usr/sbin/smtp-sink";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    emails: { type: "string", default: "3000" },
    "in-flight": { type: "string", default: "10" },
    "smtp-pool": { type: "string", default: "5" },
    "worker-pool": { type: "string", default: "10" },
    runs: { type: "string", default: "3" },
  },
});
const EMAILS = Number(values.emails);
const IN_FLIGHT = Number(values["in-flight"]);
const SMTP_POOL = Number(values["smtp-pool"]);
const WORKER_POOL = Number(values["worker-pool"]);
const RUNS = Math.max(1, Number(values.runs));
const CAMPAIGNS = 100;

/** The V8 flags of `deno task worker`. */
const WORKER_V8_FLAGS = workerV8Flags();

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

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** User + system CPU time of process `pid` so far, in ms (Linux). */
function cpuTimeMs(pid: number | "self"): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** `smtp-sink` on a free port; throws naming the package when it is missing. */
async function startSmtpSink(): Promise<{ url: string; stop(): Promise<void> }> {
  try {
    await Deno.stat(SMTP_SINK);
  } catch {
    throw new Error(
      `Cannot start Postfix's smtp-sink: ${SMTP_SINK} is missing: install Debian's postfix package (apt-get install postfix)`,
    );
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const user = Deno.uid() === 0 ? ["-u", "nobody"] : [];
  const child = new Deno.Command(SMTP_SINK, {
    args: [...user, `127.0.0.1:${port}`, "1024"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  for (let attempt = 0;; attempt++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch (error) {
      if (attempt > 50) throw new Error(`smtp-sink did not listen on ${port}: ${error}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    url: `smtp://127.0.0.1:${port}`,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await child.stderr.cancel().catch(() => {});
    },
  };
}

function mailSettings(smtpUrl: string) {
  const reader = new EnvReader({
    SMTP_URL: smtpUrl,
    SMTP_STARTTLS: "off",
    SMTP_POOL_SIZE: String(SMTP_POOL),
    POSITION_UPDATE_EMAILS: "false",
  });
  const settings = readMailConfig(reader);
  reader.done();
  return settings;
}

function sendMany(mailer: Mailer, count: number): Promise<void> {
  return parallel(count, IN_FLIGHT, (i) =>
    mailer.send({
      to: `user${i}@example.com`,
      subject: `Bench ${i}`,
      text: `Hello ${i}`,
      html: `<p>Hello ${i}</p>`,
    }));
}

async function sentCount(sql: Sql, prefix: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from email_deliveries
    where status = 'sent' and dedupe_key like ${`${prefix}%`}
  `;
  return row?.n ?? 0;
}

/** One worker process over `topic` until `count` emails of it are sent. */
async function runWorker(options: {
  sql: Sql;
  env: Record<string, string>;
  jobIds: Set<string>;
}): Promise<{ ms: number; cpuMs: number; peakRssMb: number }> {
  const { sql, env } = options;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", ...WORKER_V8_FLAGS, join(ROOT, "src/worker/main.ts")],
    env,
    clearEnv: true,
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const ids = [...options.jobIds].map((id) => `event:${id}`);
    const count = async () => {
      const [row] = await sql<{ n: number; first: Date | null; last: Date | null }[]>`
        select count(*)::int as n, min(sent_at) as first, max(sent_at) as last
        from email_deliveries where status = 'sent' and dedupe_key = any(${ids})
      `;
      return row!;
    };
    let cpuAtFirst: number | undefined;
    let peakRss = 0;
    const deadline = Date.now() + 300_000;
    for (;;) {
      const state = await count();
      const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
      const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
      peakRss = Math.max(peakRss, rss);
      if (state.n > 0 && cpuAtFirst === undefined) cpuAtFirst = cpuTimeMs(child.pid);
      if (state.n >= ids.length) {
        const cpuMs = cpuTimeMs(child.pid) - (cpuAtFirst ?? 0);
        const ms = state.last!.getTime() - state.first!.getTime();
        return { ms, cpuMs, peakRssMb: Math.round(peakRss) };
      }
      if (Date.now() > deadline) {
        throw new Error(`The worker sent ${state.n} of ${ids.length} emails in 300 s`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

const round = (value: number) => Math.round(value * 10) / 10;
const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;

const logDir = await Deno.makeTempDir({ prefix: "jobpool-bench-email-" });
console.error(`Starting Kafka, durable PostgreSQL and smtp-sink (logs in ${logDir}) ...`);
const [broker, postgres, sink] = await Promise.all([
  startKafka({ logDir }),
  startPostgres({ logDir, durable: true }),
  startSmtpSink(),
]);
const url = await postgres.createDatabase("email_bench");
await runMigrations({ url });
const sql: Sql = createDatabaseClient({
  url,
  poolMax: 10,
  connectTimeoutSeconds: 10,
  idleTimeoutSeconds: 0,
  statementTimeoutMs: 0,
});
const config = mailSettings(sink.url);
const mailer = createSmtpMailer({ smtp: config.smtp, from: config.from });
const log = logger("bench");
try {
  const [settings] = await sql<{ fsync: string; synchronous_commit: string }[]>`
    select current_setting('fsync') as fsync,
      current_setting('synchronous_commit') as synchronous_commit
  `;
  const rounds: { mailer: number; handler: number; worker: number; workerCpuMs: number }[] = [];
  let workerRss = 0;
  for (let r = 0; r < RUNS; r++) {
    console.error(`Round ${r + 1} of ${RUNS}: mailer, handler, worker (${EMAILS} emails each) ...`);
    const mailerMs = await timed(() => sendMany(mailer, EMAILS));

    const handlerCampaign = await seedCampaign(sql, { users: EMAILS, name: `handler ${r}` });
    const handlerUsers = await sql<{ id: string }[]>`
      select id from waitlist_users where campaign_id = ${handlerCampaign.campaignId}
    `;
    const handlerMs = await timed(() =>
      parallel(handlerUsers.length, IN_FLIGHT, (i) =>
        deliverEmail({
          sql,
          mailer,
          config,
          kind: "welcome",
          dedupeKey: `bench:${r}:${i}`,
          eventId: crypto.randomUUID(),
          userId: handlerUsers[i]!.id,
          campaignId: handlerCampaign.campaignId,
          signal: new AbortController().signal,
          log,
        }))
    );
    if (await sentCount(sql, `bench:${r}:`) !== handlerUsers.length) {
      throw new Error("The handler did not record every email as sent");
    }

    // Jobs are keyed by campaign and one campaign's jobs run one at a time:
    // the worker's jobs are spread over `CAMPAIGNS` campaigns.
    const campaigns = await Promise.all(
      Array.from(
        { length: CAMPAIGNS },
        (_, c) =>
          seedCampaign(sql, { users: Math.ceil(EMAILS / CAMPAIGNS), name: `worker ${r}.${c}` }),
      ),
    );
    const topic = `bench-email-${r}-${crypto.randomUUID().slice(0, 8)}`;
    const kafka = { ...loadConfig({ KAFKA_BROKERS: broker.brokers.join(",") }).kafka, topic };
    await ensureTopic({ kafka, topic, partitions: 8 });
    const producer = await createJobProducer({ kafka });
    const jobIds = new Set<string>();
    try {
      const events = [];
      for (const campaign of campaigns) {
        const users = await sql<{ id: string }[]>`
          select id from waitlist_users where campaign_id = ${campaign.campaignId}
        `;
        for (const user of users) {
          const event = createJobEvent({
            type: "job.email.welcome",
            accountId: campaign.accountId,
            campaignId: campaign.campaignId,
            data: {
              type: "welcome",
              campaign_id: campaign.campaignId,
              user_id: user.id,
              priority: 1,
            },
          });
          jobIds.add(event.id);
          events.push(event);
        }
      }
      // Interleaved by campaign, as many campaigns' users sign up at once.
      events.sort(() => Math.random() - 0.5);
      for (let from = 0; from < events.length; from += 1000) {
        await producer.sendEvents(events.slice(from, from + 1000));
      }
    } finally {
      await producer.disconnect();
    }
    const worker = await runWorker({
      sql,
      jobIds,
      env: {
        PATH: Deno.env.get("PATH") ?? "",
        HOME: Deno.env.get("HOME") ?? "",
        KAFKA_BROKERS: broker.brokers.join(","),
        KAFKA_JOB_TOPIC: topic,
        KAFKA_JOB_CONSUMER_GROUP: `bench-email-${r}`,
        KAFKA_DLQ_TOPIC: `${topic}.dlq`,
        KAFKA_WORKER_POOL_SIZE: String(WORKER_POOL),
        DATABASE_URL: url,
        SMTP_URL: sink.url,
        SMTP_STARTTLS: "off",
        SMTP_POOL_SIZE: String(SMTP_POOL),
        METRICS_PORT: "0",
        LOG_LEVEL: "warning",
      },
    });
    workerRss = Math.max(workerRss, worker.peakRssMb);
    rounds.push({
      mailer: EMAILS / mailerMs * 1000,
      handler: handlerUsers.length / handlerMs * 1000,
      worker: jobIds.size / worker.ms * 1000,
      workerCpuMs: worker.cpuMs / jobIds.size,
    });
    console.error(`  ${JSON.stringify(rounds.at(-1))}`);
  }
  const results = {
    date: new Date().toISOString(),
    postgres: postgres.version,
    postgresSettings: settings,
    smtpServer: "Postfix smtp-sink (Debian package postfix)",
    loadAverage: Deno.loadavg(),
    settings: {
      emails: EMAILS,
      inFlight: IN_FLIGHT,
      smtpPoolSize: SMTP_POOL,
      workerPoolSize: WORKER_POOL,
      runs: RUNS,
      workerV8Flags: WORKER_V8_FLAGS,
      nonDefault: [
        "SMTP_STARTTLS=off (smtp-sink offers no TLS)",
        "POSITION_UPDATE_EMAILS=false (handler phase only)",
        ...(SMTP_POOL === 5 ? [] : [`SMTP_POOL_SIZE=${SMTP_POOL}`]),
        ...(WORKER_POOL === 10 ? [] : [`KAFKA_WORKER_POOL_SIZE=${WORKER_POOL}`]),
      ],
    },
    rounds,
    emailsPerSecond: {
      mailer: round(median(rounds.map((r) => r.mailer))),
      handler: round(median(rounds.map((r) => r.handler))),
      worker: round(median(rounds.map((r) => r.worker))),
    },
    workerCpuMsPerEmail: round(median(rounds.map((r) => r.workerCpuMs)) * 100) / 100,
    workerPeakRssMb: workerRss,
    targets: { handlerEmailsPerSecond: ">= 500", workerEmailsPerSecond: ">= 500" },
  };
  const rows: [string, string][] = [
    [
      `pooled mailer alone, ${IN_FLIGHT} in flight (emails/s)`,
      String(results.emailsPerSecond.mailer),
    ],
    [
      `whole handler (claim, render, send, record), ${IN_FLIGHT} at once (emails/s)`,
      String(results.emailsPerSecond.handler),
    ],
    [
      `whole worker, Kafka in, email out, pool ${WORKER_POOL} (emails/s)`,
      String(results.emailsPerSecond.worker),
    ],
    ["  worker CPU per email (ms)", String(results.workerCpuMsPerEmail)],
    ["  worker peak RSS (MB)", String(results.workerPeakRssMb)],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log(rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join("\n"));
  console.log(
    `PostgreSQL fsync=${settings?.fsync}, synchronous_commit=${settings?.synchronous_commit}; ` +
      `non-default: ${results.settings.nonDefault.join("; ")}; medians of ${RUNS} rounds`,
  );
  await Deno.mkdir(join(HERE, "results"), { recursive: true });
  await Deno.writeTextFile(
    join(HERE, "results", "email.json"),
    `${JSON.stringify(results, null, 2)}\n`,
  );
  console.error(`Wrote ${join("test", "bench", "results", "email.json")}`);
} finally {
  mailer.close();
  await sql.end({ timeout: 5 });
  await sink.stop();
  await Promise.all([broker.stop(), postgres.stop()]);
  await Deno.remove(logDir, { recursive: true }).catch(() => {});
}
