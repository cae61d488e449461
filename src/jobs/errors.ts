/**
 * The errors a job can end in. Retry decisions are made from these classes
 * alone: a {@linkcode PermanentJobError} is dead-lettered at once, a
 * {@linkcode RetryLaterError} is retried after its delay, and anything else is
 * retried with backoff.
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

/** Why a message could not be decoded into a job event. */
export type JobDecodeProblem = "invalid_json" | "invalid_field" | "unknown_type";

/**
 * A message that is not a valid job event. Permanent: the worker
 * dead-letters it. `field` names the offending field (`data.user_id`), or is
 * empty when the whole message is unreadable.
 */
export class JobDecodeError extends PermanentJobError {
  /** The dotted path of the field at fault, or `""` for the whole message. */
  readonly field: string;
  /** What kind of problem it is. */
  readonly problem: JobDecodeProblem;
  /** A decoding failure naming the field at fault and the kind of problem. */
  constructor(
    message: string,
    details: { field: string; problem: JobDecodeProblem },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "JobDecodeError";
    this.field = details.field;
    this.problem = details.problem;
  }
}
