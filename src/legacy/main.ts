/**
 * `deno task worker:legacy`: runs jobpool's handlers on the legacy BullMQ
 * queues while a team moves to Kafka. It reads the same configuration as
 * `deno task worker`, serves the same `/metrics`, `/healthz` and `/readyz`,
 * migrates the database, builds the same handlers (sharing the Kafka
 * worker's records of processed events and sent emails, so a job that
 * reaches both workers runs once) and runs until SIGTERM or SIGINT.
 *
 * Exit codes: 0 after a graceful stop, 1 when the worker died of an error,
 * 2 for a bad configuration (the message names the variable).
 *
 * @module
 */

import { type Config, ConfigError, developmentSecretsInUse, loadConfig } from "../config/mod.ts";
import { startJobHandlers } from "../handlers/mod.ts";
import { closeLogging, configureLogging, logger } from "../observability/logging.ts";
import { createWorkerMetrics } from "../observability/metrics.ts";
import { startObservabilityServer } from "../observability/server.ts";
import { installShutdownSignals } from "../worker/mod.ts";
import { legacyQueues } from "../transport/mod.ts";
import { type RunningLegacyWorker, startLegacyWorker } from "./worker.ts";

const log = logger("legacy", "main");

/** The start-up block: where jobs come from and how many run at once. */
export function legacyConfigurationBlock(config: Pick<Config, "legacy">): string {
  const { legacy } = config;
  const url = new URL(legacy.redisUrl);
  if (url.password) url.password = "***";
  return [
    "BullMQ legacy job worker configuration:",
    `  - Redis: ${url.href}`,
    `  - Queues: ${legacyQueues(legacy).map((queue) => `${legacy.prefix}:${queue}`).join(" ")}`,
    `  - Concurrent jobs per queue: ${legacy.concurrency}`,
  ].join("\n");
}

/** Runs the legacy worker process; resolves to its exit code. */
export async function main(env: Record<string, string>): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 2;
  }
  await configureLogging(config.observability);
  try {
    console.log(legacyConfigurationBlock(config));
    for (const variable of developmentSecretsInUse(config)) {
      log.warn("{variable} is unset: using a public development secret; set it in production", {
        variable,
      });
    }
    return await serve(config);
  } catch (error) {
    log.fatal("Legacy worker failed to start: {error}", { error: describe(error) });
    return 1;
  } finally {
    await closeLogging();
  }
}

async function serve(config: Config): Promise<number> {
  const stopping = new AbortController();
  const uninstall = installShutdownSignals({ onGraceful: () => stopping.abort() });
  let worker: RunningLegacyWorker | undefined;
  const metrics = createWorkerMetrics();
  const server = await startObservabilityServer({
    port: config.observability.metricsPort,
    registry: metrics.registry,
    isAlive: () => worker?.alive ?? true,
    isReady: () => worker?.ready ?? false,
    notReadyReason: () => worker?.readiness ?? "starting",
  });
  log.info("Metrics and probes on port {port}", { port: server.port });
  const handlers = await startJobHandlers(config, metrics);
  try {
    worker = await startLegacyWorker({
      config,
      handlers: handlers.handlers,
      metrics,
      signal: stopping.signal,
    });
    await worker.done;
    log.info("Legacy worker stopped");
    return 0;
  } catch (error) {
    log.fatal("Legacy worker died: {error}", { error: describe(error) });
    return 1;
  } finally {
    uninstall();
    await worker?.stop();
    await handlers.close();
    await server.close();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.env.toObject()));
}
