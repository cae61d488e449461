/**
 * `deno task worker`: reads the configuration, prints it, creates the job
 * and dead-letter topics when missing, serves `/metrics`, `/healthz` and
 * `/readyz`, builds the job handlers (PostgreSQL, SMTP) and runs the worker
 * until SIGTERM or SIGINT.
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
import { ensureTopic } from "../producer/mod.ts";
import { startAdaptivePool } from "./adaptive.ts";
import { installShutdownSignals } from "./shutdown.ts";
import type { RunningWorker } from "./ports.ts";
import { runWorker } from "./worker.ts";

const log = logger("worker", "main");

/** The start-up block, worded as the service it replaces printed it. */
export function configurationBlock(config: Pick<Config, "kafka" | "worker">): string {
  return [
    "Kafka job worker server configuration:",
    `  - Event-driven jobs: ${config.worker.poolSize} concurrent workers`,
    `  - Kafka brokers: [${config.kafka.brokers.join(" ")}]`,
    `  - Kafka topic: ${config.kafka.topic}`,
    `  - Consumer group: ${config.worker.consumerGroup}`,
  ].join("\n");
}

/** Runs the worker process; resolves to its exit code. */
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
    console.log(configurationBlock(config));
    for (const variable of developmentSecretsInUse(config)) {
      log.warn(
        "{variable} is unset: using a public development secret; set it in production",
        { variable },
      );
    }
    return await serve(config);
  } catch (error) {
    log.fatal("Worker failed to start: {error}", { error: describe(error) });
    return 1;
  } finally {
    await closeLogging();
  }
}

async function serve(config: Config): Promise<number> {
  const stopping = new AbortController();
  const uninstall = installShutdownSignals({ onGraceful: () => stopping.abort() });
  await ensureTopic({ kafka: config.kafka });
  let worker: RunningWorker | undefined;
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
    worker = await runWorker({
      config,
      handlers: handlers.handlers,
      metrics,
      signal: stopping.signal,
    });
    const adaptive = startAdaptivePool({ worker, config: config.worker, signal: stopping.signal });
    await worker.done.finally(() => adaptive.stop());
    log.info("Worker stopped");
    return 0;
  } catch (error) {
    log.fatal("Worker died: {error}", { error: describe(error) });
    return 1;
  } finally {
    uninstall();
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
