/**
 * What a handler gets from the worker, built for handler integration tests:
 * its per-attempt context and its mail configuration.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import { EnvReader, type MailConfig, readMailConfig } from "../../src/config/mod.ts";
import type { HandlerContext } from "../../src/handlers/mod.ts";
import { logger } from "../../src/observability/logging.ts";

/** A first attempt's context: `signal` (by default one that never aborts) and a `test.<category>` logger. */
export function handlerContext(category: string, signal?: AbortSignal): HandlerContext {
  return new GetterContext(logger("test", category), signal ?? new AbortController().signal);
}

/**
 * A context shaped like the worker's (`deadlines.ts`): `signal` and `log`
 * are getters on the prototype, so a handler that spreads its context
 * (`{ ...context }`) loses them here as it would in the worker.
 */
class GetterContext implements HandlerContext {
  readonly attempt = 1;
  readonly #log: Logger;
  readonly #signal: AbortSignal;
  constructor(log: Logger, signal: AbortSignal) {
    this.#log = log;
    this.#signal = signal;
  }
  get signal(): AbortSignal {
    return this.#signal;
  }
  get log(): Logger {
    return this.#log;
  }
}

/** The mail configuration read from `env` alone; fails on any variable it does not know. */
export function mailConfigFrom(env: Record<string, string>): MailConfig {
  const reader = new EnvReader(env);
  const config = readMailConfig(reader);
  reader.done();
  return config;
}
