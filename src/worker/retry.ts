/**
 * The one place retry decisions are made. A {@linkcode PermanentJobError}
 * (which includes a message that does not decode and a type without a
 * handler) is dead-lettered at once; a {@linkcode RetryLaterError} waits the
 * delay it names; anything else backs off exponentially with full jitter,
 * capped, until the job type's attempts run out.
 *
 * @module
 */

import { matchesJobType, PermanentJobError, RetryLaterError } from "../jobs/mod.ts";

/** How failed jobs are retried. */
export interface RetryPolicy {
  /** Attempts per job before dead-lettering, unless its type has its own. */
  maxAttempts: number;
  /**
   * Attempts by job type pattern (`job.email.*` or an exact type); the first
   * matching pattern wins over {@linkcode RetryPolicy.maxAttempts}.
   */
  maxAttemptsByType?: Readonly<Record<string, number>>;
  /** Upper bound of the first delay; doubles per attempt. */
  baseMs: number;
  /** Cap on one delay, whatever the attempt or a RetryLaterError asks for. */
  maxMs: number;
}

/** What to do after a failed attempt. */
export type RetryDecision =
  | { action: "retry"; delayMs: number }
  | { action: "dead_letter"; reason: "permanent" | "attempts_exhausted" };

/** A failed attempt, as {@linkcode decideRetry} sees it. */
export interface FailedAttempt {
  /** What the attempt threw. */
  error: unknown;
  /** 1 for the first attempt. */
  attempt: number;
  /** The job type, or undefined when the message did not decode. */
  type: string | undefined;
}

/** A handler that did not settle before the job's deadline. */
export class JobTimeoutError extends Error {
  /** The deadline was `timeoutMs` after the attempt started. */
  constructor(timeoutMs: number) {
    super(`Job timed out: the handler ran longer than ${timeoutMs} ms; raise JOB_TIMEOUT_MS`);
    this.name = "JobTimeoutError";
  }
}

/** An event whose type this worker has no handler for. */
export class UnhandledJobTypeError extends PermanentJobError {
  /** `type` has no handler here. */
  constructor(type: string) {
    super(`No handler for job type ${type}: register one or narrow KAFKA_JOB_TYPES`);
    this.name = "UnhandledJobTypeError";
  }
}

/**
 * Decides whether a failed attempt is retried (and after how long) or
 * dead-lettered. `random` returns a number in [0, 1) (tests pin it).
 */
export function decideRetry(
  policy: RetryPolicy,
  failure: FailedAttempt,
  random: () => number = Math.random,
): RetryDecision {
  if (failure.error instanceof PermanentJobError) {
    return { action: "dead_letter", reason: "permanent" };
  }
  if (failure.attempt >= maxAttemptsFor(policy, failure.type)) {
    return { action: "dead_letter", reason: "attempts_exhausted" };
  }
  const asked = failure.error instanceof RetryLaterError ? failure.error.retryAfterMs : undefined;
  const delayMs = asked === undefined
    ? backoffDelay(policy, failure.attempt, random)
    : Math.min(Math.max(0, asked), policy.maxMs);
  return { action: "retry", delayMs };
}

/** The attempts a job of `type` gets. */
export function maxAttemptsFor(policy: RetryPolicy, type: string | undefined): number {
  if (type !== undefined && policy.maxAttemptsByType) {
    for (const [pattern, attempts] of Object.entries(policy.maxAttemptsByType)) {
      if (matchesJobType(type, pattern)) return attempts;
    }
  }
  return policy.maxAttempts;
}

/**
 * Full jitter: a uniform delay between 0 and `min(maxMs, baseMs * 2^(attempt-1))`,
 * so jobs that failed together do not retry together.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}
