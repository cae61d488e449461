/**
 * Structured logging with LogTape (`npm:@logtape/logtape`, in place of
 * `jsr:@std/log`, which our machines cannot reach). Every jobpool logger sits
 * under the `jobpool` category; JSON lines go to stderr.
 *
 * @module
 */

import {
  configure,
  dispose,
  getLogger,
  getTextFormatter,
  jsonLinesFormatter,
  type Logger,
} from "@logtape/logtape";
import type { ObservabilityConfig } from "../config/mod.ts";

const encoder = new TextEncoder();

/** Options of {@linkcode configureLogging}. */
export type LoggingOptions = Pick<ObservabilityConfig, "logLevel" | "logFormat">;

/**
 * Sets up the `jobpool` loggers once per process. Call it at start-up, before
 * anything logs; call {@linkcode closeLogging} before exit.
 */
export async function configureLogging(options: LoggingOptions): Promise<void> {
  const formatter = options.logFormat === "json" ? jsonLinesFormatter : getTextFormatter();
  await configure({
    reset: true,
    sinks: {
      stderr: (record) => {
        Deno.stderr.writeSync(encoder.encode(formatter(record)));
      },
    },
    loggers: [
      { category: ["jobpool"], lowestLevel: options.logLevel, sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
}

/** Flushes and closes the log sinks. */
export async function closeLogging(): Promise<void> {
  await dispose();
}

/** A logger under `jobpool`, e.g. `logger("worker", "pool")`. */
export function logger(...category: string[]): Logger {
  return getLogger(["jobpool", ...category]);
}
