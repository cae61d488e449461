/**
 * What a handler gets from the worker, built for handler integration tests:
 * its per-attempt context and its mail configuration.
 *
 * @module
 */

import { EnvReader, type MailConfig, readMailConfig } from "../../src/config/mod.ts";
import type { HandlerContext } from "../../src/handlers/mod.ts";
import { logger } from "../../src/observability/logging.ts";

/** A first attempt's context: a signal that never aborts and a `test.<category>` logger. */
export function handlerContext(category: string): HandlerContext {
  return { signal: new AbortController().signal, log: logger("test", category), attempt: 1 };
}

/** The mail configuration read from `env` alone; fails on any variable it does not know. */
export function mailConfigFrom(env: Record<string, string>): MailConfig {
  const reader = new EnvReader(env);
  const config = readMailConfig(reader);
  reader.done();
  return config;
}
