/**
 * Dead letters of the legacy worker: a job that failed for good stays in
 * Redis, in its BullMQ queue's failed set (where BullMQ's tools show it and
 * `job.retry()` puts it back), with the reason as its `failedReason`.
 *
 * The runner hands a dead letter over before the job's end; the worker then
 * fails the BullMQ job with an `UnrecoverableError`, which BullMQ stores in
 * one step with the job's end, so no crash can leave it half recorded.
 *
 * @module
 */

import type { DeadLetterReason, DeadLetterSink, OriginalMessage } from "../worker/mod.ts";

/** Holds each job's dead-letter reason until the worker fails its BullMQ job with it. */
export class FailedSetSink implements DeadLetterSink {
  readonly #reasons = new WeakMap<OriginalMessage, DeadLetterReason>();

  /** Records `reason` for `message`; the worker stores it when the job ends. */
  publish(message: OriginalMessage, reason: DeadLetterReason): Promise<void> {
    this.#reasons.set(message, reason);
    return Promise.resolve();
  }

  /** The reason recorded for `message`, removed; undefined when it was not dead-lettered. */
  take(message: OriginalMessage): DeadLetterReason | undefined {
    const reason = this.#reasons.get(message);
    this.#reasons.delete(message);
    return reason;
  }
}

/** The `failedReason` BullMQ keeps: the error, attempts and failure times. */
export function failedReason(reason: DeadLetterReason): string {
  const error = reason.error instanceof Error
    ? `${reason.error.name}: ${reason.error.message}`
    : String(reason.error);
  return `${error} (dead-lettered after ${reason.attempts} attempt(s); first failure ${reason.firstFailureAt.toISOString()}, last ${reason.lastFailureAt.toISOString()})`;
}
