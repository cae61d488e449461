/**
 * Handlers that get a plain context object. The runner hands a handler its
 * `HandlerAttempt`, whose `signal` and `log` are getters on the class (made
 * on first read); a handler that copies its context with object spread
 * (`{ ...context, signal }`, as the reward handler does) loses `log`. Until
 * that is fixed where it starts, the legacy worker gives each handler an
 * object whose getters are its own, which spread copies.
 *
 * @module
 */

import type { HandlerContext, JobHandler, PartialJobHandlers } from "../handlers/mod.ts";
import type { JobType } from "../jobs/mod.ts";

/** `handlers`, each called with a context whose `signal` and `log` survive object spread. */
export function withOwnContext(handlers: PartialJobHandlers): PartialJobHandlers {
  const wrapped: Record<string, unknown> = {};
  for (const [type, handler] of Object.entries(handlers)) {
    if (!handler) continue;
    const call = handler as JobHandler<JobType>;
    wrapped[type] = (job: Parameters<typeof call>[0], context: HandlerContext) =>
      call(job, ownContext(context));
  }
  return wrapped as PartialJobHandlers;
}

function ownContext(context: HandlerContext): HandlerContext {
  return {
    get signal() {
      return context.signal;
    },
    get log() {
      return context.log;
    },
    attempt: context.attempt,
  };
}
