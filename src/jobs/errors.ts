/**
 * The errors a job can end in. Retry decisions are made from these classes
 * alone: a {@linkcode PermanentJobError} is dead-lettered at once, a
 * {@linkcode RetryLaterError} is retried after its delay, a
 * {@linkcode DependencyUnavailableError} waits for its dependency (without
 * using an attempt while the dependency is down for everyone), a
 * {@linkcode LeaseHeldError} waits for another holder's claim (never using an
 * attempt), and anything else is retried with backoff.
 *
 * @module
 */

/** A job that can never succeed, whatever the number of attempts. */
export class PermanentJobError extends Error {
  /** A permanent failure saying why the job cannot succeed. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PermanentJobError";
  }
}

/** A job that failed for now and should be tried again after `retryAfterMs`. */
export class RetryLaterError extends Error {
  /** How long to wait before the next attempt, when the cause knows. */
  readonly retryAfterMs: number | undefined;
  /** A failure to retry, after `options.retryAfterMs` when given. */
  constructor(message: string, options?: ErrorOptions & { retryAfterMs?: number }) {
    super(message, options);
    this.name = "RetryLaterError";
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/**
 * A job could not run because something it needs is unreachable or refusing
 * work for now: the database, the mail server, the broker. The worker treats
 * it as a dependency outage, not as the job's fault: it opens the
 * dependency's circuit breaker after a few such failures in a row, holds the
 * jobs that need it until a probe succeeds, and charges no attempt while the
 * breaker is open.
 */
export class DependencyUnavailableError extends Error {
  /** The dependency at fault, e.g. `postgres`, `smtp`, `kafka`. */
  readonly dependency: string;
  /** A failure of `dependency`; `options.cause` keeps the original error. */
  constructor(dependency: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DependencyUnavailableError";
    this.dependency = dependency;
  }
}

/**
 * Another worker holds the claim this job needs (an email being sent, a
 * reward being delivered) under a lease. The job waits for the claim to be
 * released or to run out; waiting never uses an attempt and never
 * dead-letters, since the job itself did not fail.
 */
export class LeaseHeldError extends Error {
  /** How long the holder's lease still runs, when known. */
  readonly retryAfterMs: number | undefined;
  /** A claim held elsewhere; check again after `options.retryAfterMs`. */
  constructor(message: string, options?: ErrorOptions & { retryAfterMs?: number }) {
    super(message, options);
    this.name = "LeaseHeldError";
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** Why a message could not be decoded into a job event. */
export type JobDecodeProblem = "invalid_json" | "invalid_field" | "unknown_type";

/** One invalid field of a job event. */
export interface JobDecodeIssue {
  /** The dotted path of the field (`data.user_id`), or `""` for the whole message. */
  field: string;
  /** What is wrong with it. */
  message: string;
}

/**
 * A message that is not a valid job event. Permanent: the worker
 * dead-letters it. `field` names the (first) offending field (`data.user_id`),
 * or is empty when the whole message is unreadable; `issues` lists every
 * invalid field.
 */
export class JobDecodeError extends PermanentJobError {
  /** The dotted path of the first field at fault, or `""` for the whole message. */
  readonly field: string;
  /** What kind of problem it is. */
  readonly problem: JobDecodeProblem;
  /** Every invalid field, in schema order (one entry for an unreadable message). */
  readonly issues: readonly JobDecodeIssue[];
  /** A decoding failure naming the fields at fault and the kind of problem. */
  constructor(
    message: string,
    details: { field: string; problem: JobDecodeProblem; issues?: readonly JobDecodeIssue[] },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "JobDecodeError";
    this.field = details.field;
    this.problem = details.problem;
    this.issues = details.issues ?? [{ field: details.field, message }];
  }
}
