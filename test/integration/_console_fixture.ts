/**
 * A whole jobpool for the console's tests: a topic and group of their own, a
 * migrated database with a seeded campaign, the in-process SMTP catcher, the
 * real worker (`src/worker/main.ts`) and the console (`src/console/main.ts`),
 * each in its own process with the permissions of its `deno task`.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { Config } from "../../src/config/mod.ts";
import { seedCampaign } from "../../src/db/seed.ts";
import { freePort } from "../env/process.ts";
import { kafkaBrokers } from "../env/services.ts";
import { type SmtpCatcher, startSmtp } from "../env/smtp.ts";
import { type MigratedDatabase, migratedDatabase } from "./_database_fixture.ts";
import { setupTopic, waitUntil } from "./fixtures/worker_harness.ts";

const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));
const WORKER = fileURLToPath(new URL("../../src/worker/main.ts", import.meta.url));
const CONSOLE = fileURLToPath(new URL("../../src/console/main.ts", import.meta.url));
/** `deno task worker`'s and `deno task console`'s permissions, so a missing one fails here. */
const WORKER_PERMISSIONS = [
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-sys",
  "--allow-run",
];
const CONSOLE_PERMISSIONS = ["--allow-net", "--allow-env", "--allow-read", "--allow-sys"];

/** The console token of the test stack. */
export const TEST_TOKEN = "console-test-token-0123456789";

/** A running stack. */
export interface ConsoleStack extends AsyncDisposable {
  /** The worker's configuration (topic, group, DLQ topic). */
  config: Config;
  /** The database, with a pool. */
  db: MigratedDatabase;
  /** Captured mail; `rejectNext` makes sends fail. */
  smtp: SmtpCatcher;
  /** The seeded campaign: its account, id and the first users' ids. */
  campaign: { accountId: string; campaignId: string; userIds: string[] };
  /** The console's URL, e.g. `http://127.0.0.1:40123/`. */
  consoleUrl: string;
  /** The worker's metrics URL. */
  metricsUrl: string;
}

function spawn(
  script: string,
  permissions: string[],
  env: Record<string, string>,
  logs: string[],
): Deno.ChildProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, "--config", CONFIG, script],
    env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "", ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  for (const stream of [child.stdout, child.stderr]) {
    (async () => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        logs.push(chunk);
        if (logs.length > 400) logs.splice(0, 100);
      }
    })().catch(() => {});
  }
  return child;
}

/** Starts the stack; dispose it to stop everything and drop the database. */
export async function startConsoleStack(prefix: string): Promise<ConsoleStack> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const logs: string[] = [];
  try {
    const config = await setupTopic(prefix, { partitions: 3 });
    const db = await migratedDatabase(prefix, { poolMax: 2 });
    cleanups.push(() => db.drop());
    const smtp = await startSmtp();
    cleanups.push(() => smtp.stop());
    const seeded = await seedCampaign(db.sql, { users: 20, name: "Console campaign" });
    const users = await db.sql<{ id: string }[]>`
      select id from waitlist_users where campaign_id = ${seeded.campaignId} order by original_position
    `;
    const metricsPort = freePort();
    const kafkaEnv = {
      KAFKA_BROKERS: kafkaBrokers().join(","),
      KAFKA_JOB_TOPIC: config.kafka.topic,
      KAFKA_JOB_CONSUMER_GROUP: config.worker.consumerGroup,
      KAFKA_CLIENT_ID: prefix.replaceAll("_", "-"),
      DATABASE_URL: db.url,
      LOG_FORMAT: "json",
    };
    const worker = spawn(WORKER, WORKER_PERMISSIONS, {
      ...kafkaEnv,
      METRICS_PORT: String(metricsPort),
      SMTP_URL: smtp.url,
      SMTP_TLS_REJECT_UNAUTHORIZED: "false",
      JOB_RETRY_BASE_MS: "50",
      JOB_RETRY_MAX_MS: "200",
      KAFKA_COMMIT_INTERVAL_MS: "100",
    }, logs);
    cleanups.push(async () => {
      worker.kill("SIGTERM");
      await worker.status;
    });
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    const consolePort = freePort();
    const consoleProcess = spawn(CONSOLE, CONSOLE_PERMISSIONS, {
      ...kafkaEnv,
      CONSOLE_PORT: String(consolePort),
      CONSOLE_TOKEN: TEST_TOKEN,
      CONSOLE_WORKER_METRICS_URLS: metricsUrl,
      CONSOLE_SCRAPE_INTERVAL_MS: "500",
    }, logs);
    cleanups.push(async () => {
      consoleProcess.kill("SIGTERM");
      await consoleProcess.status;
    });
    const consoleUrl = `http://127.0.0.1:${consolePort}/`;
    await waitUntil(
      async () => (await fetch(metricsUrl.replace("/metrics", "/readyz")).then(
        (r) => (r.body?.cancel(), r.ok),
      ).catch(() => false)),
      "the worker to be ready",
      60_000,
    ).catch((error) => {
      throw new Error(`${error.message}\n${logs.join("").slice(-4000)}`);
    });
    await waitUntil(
      async () => (await fetch(`${consoleUrl}healthz`).then((r) => (r.body?.cancel(), r.ok))
        .catch(() => false)),
      "the console to answer",
      60_000,
    ).catch((error) => {
      throw new Error(`${error.message}\n${logs.join("").slice(-4000)}`);
    });
    return {
      config,
      db,
      smtp,
      campaign: {
        accountId: seeded.accountId,
        campaignId: seeded.campaignId,
        userIds: users.map((user) => user.id),
      },
      consoleUrl,
      metricsUrl,
      async [Symbol.asyncDispose]() {
        for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
      },
    };
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    throw error;
  }
}
