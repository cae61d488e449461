/**
 * Which of a handler's failures are dependency outages: the handlers know
 * what they talk to (PostgreSQL, the SMTP server, the broker for follow-up
 * jobs), so they say it in the worker's terms, a
 * {@linkcode DependencyUnavailableError} naming the dependency. The worker
 * then waits the outage out instead of spending the job's attempts.
 *
 * @module
 */

import { isDatabaseUnavailable } from "../db/mod.ts";
import { DependencyUnavailableError } from "../jobs/mod.ts";
import { MailSendError } from "../mail/mod.ts";
import type { JobHandlers } from "./handler.ts";

/** The dependencies the built-in handlers name. */
export const DEPENDENCIES = {
  postgres: "postgres",
  smtp: "smtp",
  kafka: "kafka",
} as const;

/**
 * `error` as a {@linkcode DependencyUnavailableError} when it is an outage:
 * PostgreSQL unreachable or restarting, the SMTP server unreachable or
 * deferring (4xx, e.g. 421 or greylisting's 450), the broker unreachable.
 * Undefined for everything else (a job's own failure).
 */
export function asOutage(error: unknown): DependencyUnavailableError | undefined {
  if (error instanceof DependencyUnavailableError) return error;
  if (error instanceof MailSendError) {
    if (error.permanent) return undefined;
    return new DependencyUnavailableError(DEPENDENCIES.smtp, error.message, { cause: error });
  }
  const name = (error as { name?: unknown })?.name;
  if (typeof name === "string" && name.startsWith("KafkaJS")) {
    return new DependencyUnavailableError(DEPENDENCIES.kafka, String(errorMessage(error)), {
      cause: error,
    });
  }
  if (isDatabaseUnavailable(error)) {
    return new DependencyUnavailableError(
      DEPENDENCIES.postgres,
      `PostgreSQL is unavailable: ${errorMessage(error)}`,
      { cause: error },
    );
  }
  return undefined;
}

/** Every handler of `handlers`, with its outages named ({@linkcode asOutage}). */
export function reportingOutages(handlers: JobHandlers): JobHandlers {
  const wrapped: Record<string, unknown> = {};
  for (const [type, handler] of Object.entries(handlers)) {
    wrapped[type] = async (job: never, context: never) => {
      try {
        await (handler as (job: never, context: never) => Promise<void>)(job, context);
      } catch (error) {
        throw asOutage(error) ?? error;
      }
    };
  }
  return wrapped as JobHandlers;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
