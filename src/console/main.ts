/**
 * `deno task console`: reads the configuration (`KAFKA_*`, `DATABASE_*`,
 * `CONSOLE_*`), starts the web console and prints its URL; stops on SIGINT
 * or SIGTERM. Exit code 2 for a bad configuration, naming the variable.
 *
 * @module
 */

import { ConfigError, loadConsoleConfig } from "../config/mod.ts";
import { closeLogging, configureLogging, logger } from "../observability/logging.ts";
import { startConsole } from "./console.ts";

const log = logger("console", "main");

/** Runs the console until a signal; resolves to the exit code. */
export async function main(env: Record<string, string>): Promise<number> {
  let config;
  try {
    config = loadConsoleConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 2;
  }
  await configureLogging(config.observability);
  try {
    const running = await startConsole(config);
    const mode = config.console.token
      ? "actions need CONSOLE_TOKEN"
      : "read-only (no CONSOLE_TOKEN)";
    console.log(`jobpool console: ${running.url} (${mode})`);
    const stop = Promise.withResolvers<void>();
    const onSignal = () => stop.resolve();
    Deno.addSignalListener("SIGINT", onSignal);
    Deno.addSignalListener("SIGTERM", onSignal);
    await stop.promise;
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await running.close();
    log.info("Console stopped");
    return 0;
  } catch (error) {
    log.fatal("Console failed: {error}", {
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return 1;
  } finally {
    await closeLogging();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.env.toObject()));
