/**
 * The one place retry decisions are made, from the error class alone:
 *
 * - a {@linkcode PermanentJobError} (which includes a message that does not
 *   decode and a type without a handler) is dead-lettered at once;
 * - a {@linkcode LeaseHeldError} (another worker holds the job's claim) waits
 *   for the lease and uses no attempt;
 * - a {@linkcode DependencyUnavailableError} during an outage (its breaker is
 *   open, see `breakers.ts`) waits for the dependency and uses no attempt;
 * - anything else uses an attempt: a {@linkcode RetryLaterError} waits the
 *   delay it names, the rest back off exponentially with equal jitter (half
 *   the delay fixed, half random), capped, until the job type's attempts run
 *   out. With the defaults (10 attempts, 1 s doubling to 5 min) the schedule
 *   spans 4 to 8.5 minutes.
 *
 * @module
 */

import { LeaseHeldError, matchesJobType, PermanentJobError, RetryLaterError } from "../jobs/mod.ts";

/** How failed jobs are retried. */
export interface RetryPolicy {
  /** Attempts per job before dead-lettering, unless its type has its own. */
  maxAttempts: number;
  /**
   * Attempts by job type pattern (`job.email.*` or an exact type); the first
   * matching pattern wins over {@linkcode RetryPolicy.maxAttempts}.
   */
  maxAttemptsByType?: Readonly<Record<string, number>>;
  /** Ceiling of the first delay; doubles per attempt. */
  baseMs: number;
  /** Cap on one delay, whatever the attempt or a RetryLaterError asks for. */
  maxMs: number;
}

/** What to do after a failed attempt. */
export type RetryDecision =
  /** Run it again after `delayMs`; `charged` says whether the attempt counted. */
  | { action: "retry"; delayMs: number; charged: boolean }
  | { action: "dead_letter"; reason: "permanent" | "attempts_exhausted" };

/** A failed attempt, as {@linkcode decideRetry} sees it. */
export interface FailedAttempt {
  /** What the attempt threw. */
  error: unknown;
  /** The attempts used so far, this one included when it counts: 1 after a first failure. */
  attempt: number;
  /** The job type, or undefined when the message did not decode. */
  type: string | undefined;
  /** The failure was a dependency outage (its breaker is open): no attempt is used. */
  outage?: boolean;
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

/** The shortest wait for a claim held elsewhere, so a busy claim is not polled in a loop. */
const MIN_LEASE_WAIT_MS = 100;

/**
 * The longest wait before looking at a claim held elsewhere again: a holder
 * may release its claim long before its lease ends (a refused send), and
 * one look every 5 s costs one query.
 */
const MAX_LEASE_WAIT_MS = 5_000;

/**
 * Decides whether a failed attempt is retried (after how long, and whether
 * it used an attempt) or dead-lettered. `random` returns a number in [0, 1)
 * (tests pin it).
 */
export function decideRetry(
  policy: RetryPolicy,
  failure: FailedAttempt,
  random: () => number = Math.random,
): RetryDecision {
  const { error } = failure;
  if (error instanceof PermanentJobError) {
    return { action: "dead_letter", reason: "permanent" };
  }
  if (error instanceof LeaseHeldError) {
    const asked = error.retryAfterMs ?? policy.baseMs;
    const delayMs = Math.min(Math.max(MIN_LEASE_WAIT_MS, asked), MAX_LEASE_WAIT_MS, policy.maxMs);
    return { action: "retry", delayMs, charged: false };
  }
  if (failure.outage) return { action: "retry", delayMs: 0, charged: false };
  if (failure.attempt >= maxAttemptsFor(policy, failure.type)) {
    return { action: "dead_letter", reason: "attempts_exhausted" };
  }
  const asked = error instanceof RetryLaterError ? error.retryAfterMs : undefined;
  const delayMs = asked === undefined
    ? backoffDelay(policy, failure.attempt, random)
    : Math.min(Math.max(0, asked), policy.maxMs);
  return { action: "retry", delayMs, charged: true };
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
 * Equal jitter: a delay between half and all of
 * `min(maxMs, baseMs * 2^(attempt-1))`, so jobs that failed together do not
 * retry together, and the schedule still spans a known minimum.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(ceiling / 2 + random() * (ceiling / 2));
}
