/**
 * `deno task dev`: the whole picture on one machine. Starts a local Kafka,
 * PostgreSQL and a mail catcher (the test environment's tooling), migrates
 * and seeds a demo campaign, runs `deno task worker` against them, streams
 * sample jobs of every type and prints a live progress line. It also serves
 * the web console (`deno task console`) on the stack and prints its URL and
 * token. Ctrl-C stops everything.
 *
 * Options: `--rate <jobs/s>` (default 20), `--duration <s>` (stop by itself),
 * `--redis` (also a local Redis and `deno task worker:legacy` on its BullMQ
 * queue; sample jobs go to both transports, as during a cut-over, unless
 * `JOB_TRANSPORT` says otherwise).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { startKafka } from "./env/kafka.ts";
import { startPostgres } from "./env/postgres.ts";
import { startRedis } from "./env/redis.ts";
import { startSmtp } from "./env/smtp.ts";
import { freePort, waitFor } from "./env/process.ts";
import { loadConfig } from "../src/config/mod.ts";
import { createJobProducer, ensureTopic } from "../src/producer/mod.ts";
import { fetchGroupLag } from "../src/observability/lag.ts";
import { createDatabaseClient, runMigrations } from "../src/db/mod.ts";
import { seedCampaign } from "../src/db/seed.ts";
import { type DemoCampaign, sampleJobs } from "./dev_jobs.ts";
import { formatProgress, parseProcessedJobs } from "./dev_progress.ts";

const ROOT = new URL("..", import.meta.url).pathname;

interface Stack {
  env: Record<string, string>;
  logDir: string;
  stop(): Promise<void>;
}

async function startStack(
  logDir: string,
  options: { redis: boolean },
): Promise<Stack & { mailDir: string }> {
  const [kafka, postgres, smtp, redis] = await Promise.all([
    startKafka({ logDir }),
    startPostgres({ logDir }),
    startSmtp(),
    options.redis ? startRedis({ logDir }) : undefined,
  ]);
  const mailDir = join(logDir, "mail");
  await Deno.mkdir(mailDir);
  const metricsPort = freePort();
  const stopMirror = mirrorMail(smtp.messages, mailDir);
  console.log(`Kafka ${kafka.version} at ${kafka.brokers.join(",")}`);
  console.log(`${postgres.version.split(" on ")[0]} at ${postgres.url}`);
  console.log(`Mail catcher at ${smtp.url}; captured emails are written to ${mailDir}`);
  if (redis) console.log(`Redis ${redis.version} at ${redis.url} (the legacy BullMQ queue)`);
  return {
    logDir,
    mailDir,
    env: {
      KAFKA_BROKERS: kafka.brokers.join(","),
      DATABASE_URL: postgres.url,
      SMTP_URL: smtp.url,
      // The catcher offers STARTTLS with a self-signed certificate made at start-up.
      SMTP_TLS_REJECT_UNAUTHORIZED: "false",
      METRICS_PORT: String(metricsPort),
      APP_BASE_URL: "http://localhost:3000",
      LOG_FORMAT: "json",
      ...(redis
        ? { BULLMQ_REDIS_URL: redis.url, JOB_TRANSPORT: Deno.env.get("JOB_TRANSPORT") ?? "both" }
        : {}),
    },
    async stop() {
      stopMirror();
      await Promise.allSettled([smtp.stop(), postgres.stop(), kafka.stop(), redis?.stop()]);
    },
  };
}

/** Writes each captured message to `<dir>/<n>.eml` as it arrives; returns a stop function. */
function mirrorMail(messages: readonly { raw: string }[], dir: string): () => void {
  let written = 0;
  const timer = setInterval(() => {
    for (; written < messages.length; written++) {
      const message = messages[written];
      if (message) Deno.writeTextFileSync(join(dir, `${written + 1}.eml`), message.raw);
    }
  }, 500);
  return () => clearInterval(timer);
}

function startWorker(env: Record<string, string>, logDir: string): Deno.ChildProcess {
  return startTask("worker", env, logDir);
}

/**
 * Runs `deno task <task>` with `env`, its stderr (the JSON log) appended to
 * `<logDir>/<task>.log` (`worker:legacy` logs to `worker-legacy.log`).
 */
function startTask(task: string, env: Record<string, string>, logDir: string): Deno.ChildProcess {
  const logFile = Deno.openSync(join(logDir, `${task.replace(":", "-")}.log`), {
    create: true,
    append: true,
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", task],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  child.stderr.pipeTo(logFile.writable).catch(() => {});
  return child;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rate: { type: "string", default: "20" },
      duration: { type: "string" },
      redis: { type: "boolean", default: false },
    },
  });
  const rate = Number(values.rate);
  if (!Number.isFinite(rate) || rate <= 0) {
    console.error(`--rate must be a positive number of jobs per second, got "${values.rate}"`);
    return 2;
  }
  const logDir = await Deno.makeTempDir({ prefix: "jobpool-dev-" });
  console.log(`Starting the local stack (logs in ${logDir})…`);
  const stack = await startStack(logDir, { redis: values.redis });
  const stopping = Promise.withResolvers<void>();
  const onSignal = () => stopping.resolve();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  if (values.duration) setTimeout(onSignal, Number(values.duration) * 1000);
  let worker: Deno.ChildProcess | undefined;
  let consoleProcess: Deno.ChildProcess | undefined;
  let legacyWorker: Deno.ChildProcess | undefined;
  try {
    const config = loadConfig(stack.env);
    await ensureTopic({ kafka: config.kafka });
    const demos = await prepareDatabase(config, 8);
    console.log(`Migrated and seeded ${demos.length} demo campaigns of 500 users each`);
    worker = startWorker(stack.env, logDir);
    const metricsUrl = `http://127.0.0.1:${stack.env.METRICS_PORT}/metrics`;
    await waitFor(
      async () => (await fetch(metricsUrl).then((r) => r.body?.cancel())) === undefined,
      {
        timeoutMs: 60_000,
        what: "the worker's metrics endpoint",
      },
    );
    console.log(`Worker metrics: ${metricsUrl} (health: /healthz, /readyz)`);
    const consolePort = freePort();
    const token = crypto.randomUUID();
    consoleProcess = startTask("console", {
      ...stack.env,
      CONSOLE_PORT: String(consolePort),
      CONSOLE_TOKEN: token,
      CONSOLE_WORKER_METRICS_URLS: metricsUrl,
      CONSOLE_SCRAPE_INTERVAL_MS: "2000",
    }, logDir);
    const consoleUrl = `http://127.0.0.1:${consolePort}/`;
    await waitFor(
      async () => (await fetch(`${consoleUrl}healthz`).then((r) => r.body?.cancel())) === undefined,
      { timeoutMs: 60_000, what: "the console" },
    );
    console.log(`Console: ${consoleUrl} (token for replays: ${token})`);
    if (values.redis) {
      const legacyPort = String(freePort());
      legacyWorker = startTask("worker:legacy", { ...stack.env, METRICS_PORT: legacyPort }, logDir);
      console.log(
        `Legacy worker metrics: http://127.0.0.1:${legacyPort}/metrics; log: ${
          join(logDir, "worker-legacy.log")
        }; sample jobs go to ${
          config.legacy.transport === "both" ? "Kafka and BullMQ" : config.legacy.transport
        }`,
      );
    }
    console.log(`Worker log: ${join(logDir, "worker.log")}. Ctrl-C stops everything.\n`);
    await streamJobs({ config, demos, rate, metricsUrl, stopping: stopping.promise });
    return 0;
  } finally {
    if (consoleProcess) {
      consoleProcess.kill("SIGTERM");
      await consoleProcess.status;
    }
    if (legacyWorker) {
      legacyWorker.kill("SIGTERM");
      console.log(`Legacy worker exited with code ${(await legacyWorker.status).code}`);
    }
    if (worker) {
      console.log("\nStopping the worker (graceful)…");
      worker.kill("SIGTERM");
      const status = await worker.status;
      console.log(`Worker exited with code ${status.code}`);
    }
    await stack.stop();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    console.log(`Logs and captured mail stay in ${logDir}`);
    console.log("Local stack stopped.");
  }
}

/** Migrates the database and seeds a demo campaign with pending rewards. */
async function prepareDatabase(
  config: ReturnType<typeof loadConfig>,
  campaigns: number,
): Promise<DemoCampaign[]> {
  const sql = createDatabaseClient(config.database);
  try {
    await runMigrations({ url: config.database.url });
    const demos: DemoCampaign[] = [];
    for (let i = 1; i <= campaigns; i++) {
      const seeded = await seedCampaign(sql, {
        users: 500,
        pointsPerReferral: 2,
        pendingRewards: 25,
        name: `Demo campaign ${i}`,
        randomSeed: i / (campaigns + 1),
      });
      const users = await sql<{ id: string }[]>`
        select id from waitlist_users where campaign_id = ${seeded.campaignId}
        order by original_position limit 100
      `;
      const rewarded = await sql<{ user_id: string }[]>`
        select user_id from user_rewards where id = any(${seeded.userRewardIds}::uuid[])
      `;
      demos.push({
        accountId: seeded.accountId,
        campaignId: seeded.campaignId,
        pointsPerReferral: 2,
        userIds: users.map((user) => user.id),
        userRewardIds: seeded.userRewardIds,
        rewardedUserIds: rewarded.map((row) => row.user_id),
      });
    }
    return demos;
  } finally {
    await sql.end();
  }
}

async function streamJobs(options: {
  config: ReturnType<typeof loadConfig>;
  demos: DemoCampaign[];
  rate: number;
  metricsUrl: string;
  stopping: Promise<void>;
}): Promise<void> {
  const { config, demos, rate, metricsUrl } = options;
  const producer = await createJobProducer({ kafka: config.kafka, legacy: config.legacy });
  const admin = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  let stopped = false;
  options.stopping.then(() => stopped = true);
  const jobs = sampleJobs(demos);
  let sent = 0;
  try {
    while (!stopped) {
      const batch = Array.from({ length: Math.max(1, Math.round(rate)) }, () => jobs.next().value);
      await producer.enqueueMany(batch);
      sent += batch.length;
      const [metrics, lag] = await Promise.all([
        fetch(metricsUrl).then((r) => r.text()).catch(() => ""),
        fetchGroupLag(admin, config.worker.consumerGroup, config.kafka.topic).catch(() =>
          undefined
        ),
      ]);
      const line = formatProgress({
        sent,
        processed: parseProcessedJobs(metrics),
        lag: lag?.total,
      });
      console.log(line);
      await Promise.race([new Promise((r) => setTimeout(r, 1000)), options.stopping]);
    }
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
}

if (import.meta.main) Deno.exit(await main());
