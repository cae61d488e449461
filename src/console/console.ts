/**
 * Starting and stopping the console: connects to Kafka, PostgreSQL and
 * (with a kubeconfig) the cluster, starts the worker scraper and the
 * consumer-group watcher, and serves the routes.
 *
 * @module
 */

import type { ConsoleAppConfig } from "../config/mod.ts";
import { createDatabaseClient } from "../db/mod.ts";
import { createKafkaClient } from "../kafka/mod.ts";
import { loadAssets } from "./assets.ts";
import { ConsoleAuth } from "./auth.ts";
import { DeadLetterStore } from "./dead_letters/store.ts";
import { lookUpJob } from "./jobs/lookup.ts";
import { GroupWatcher } from "./kafka/consumer_groups.ts";
import { JobHistory } from "./metrics/job_history.ts";
import { WorkerScraper } from "./metrics/worker_scraper.ts";
import type { OverviewData } from "./pages/overview_page.ts";
import { PoolReader } from "./pools.ts";
import { createConsoleApp } from "./server.ts";

/** The live window of the Overview's rates. */
const LIVE_MS = 60_000;

/** A running console. */
export interface RunningConsole {
  /** Where it listens, e.g. `http://127.0.0.1:8088/`. */
  url: string;
  /** Stops serving and closes every connection. */
  close(): Promise<void>;
}

/** Starts the console described by `config`. */
export async function startConsole(config: ConsoleAppConfig): Promise<RunningConsole> {
  const settings = config.console;
  const kafka = createKafkaClient(config.kafka, { clientId: `${config.kafka.clientId}-console` });
  const admin = kafka.admin();
  await admin.connect();
  const sql = createDatabaseClient({
    ...config.database,
    poolMax: Math.min(config.database.poolMax, 4),
  });
  const keepMs = settings.historyMinutes * 60_000;
  const history = new JobHistory({ keepMs });
  const scraper = new WorkerScraper({
    urls: settings.workerMetricsUrls,
    history,
    intervalMs: settings.scrapeIntervalMs,
  });
  const groups = new GroupWatcher({
    admin,
    groups: settings.consumerGroups,
    topic: config.kafka.topic,
    intervalMs: settings.scrapeIntervalMs,
    keepMs,
  });
  const deadLetters = new DeadLetterStore({
    kafka,
    admin,
    topic: config.worker.deadLetterTopic,
    jobTopic: config.kafka.topic,
    groupPrefix: `${config.kafka.clientId}-console-reader`,
  });
  const pools = settings.kubeconfig
    ? new PoolReader({
      kubeconfig: settings.kubeconfig,
      ...(settings.kubeContext ? { context: settings.kubeContext } : {}),
      ...(settings.poolsNamespace ? { namespace: settings.poolsNamespace } : {}),
    })
    : undefined;

  const overview = (): OverviewData => {
    const now = Date.now();
    const inFlight = scraper.inFlight();
    const types = history.summary({ now, liveMs: LIVE_MS })
      .map((summary) => ({ ...summary, inFlight: inFlight.get(summary.type) ?? 0 }));
    for (const [type, count] of inFlight) {
      if (!types.some((summary) => summary.type === type) && count > 0) {
        const zero = { processed: 0, retried: 0, failed: 0, deadLettered: 0 };
        types.push({ type, liveRate: zero, total: zero, live: {}, history: {}, inFlight: count });
      }
    }
    return {
      generatedAt: new Date(now).toISOString(),
      historySeconds: history.seconds,
      liveSeconds: LIVE_MS / 1000,
      refreshMs: settings.scrapeIntervalMs,
      topic: config.kafka.topic,
      types: types.sort((a, b) => a.type.localeCompare(b.type)),
      timeline: history.timeline(),
      workers: scraper.targets(),
      groups: groups.states(),
    };
  };

  const app = createConsoleApp({
    auth: new ConsoleAuth({ token: settings.token }),
    overview,
    deadLetters,
    jobTopic: config.kafka.topic,
    lookUpJob: async (id) => lookUpJob(id, { sql, deadLetters: await deadLetters.list() }),
    ...(pools ? { listPools: () => pools.list() } : {}),
    assets: await loadAssets(),
  });
  scraper.start();
  groups.start();
  const server = Deno.serve({
    hostname: settings.host,
    port: settings.port,
    onListen: () => {},
  }, app.fetch);
  const host = server.addr.hostname.includes(":")
    ? `[${server.addr.hostname}]`
    : server.addr.hostname;
  return {
    url: `http://${host}:${server.addr.port}/`,
    async close() {
      await server.shutdown();
      await Promise.allSettled([scraper.stop(), groups.stop()]);
      await Promise.allSettled([admin.disconnect(), sql.end({ timeout: 5 }), pools?.close()]);
    },
  };
}
