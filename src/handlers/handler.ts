/**
 * The contract between the worker and the code that does a job's work.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { JobEventOf, JobType } from "../jobs/mod.ts";

/** What the worker hands a handler besides the job. */
export interface HandlerContext {
  /** Aborted when the job's deadline passes or the worker shuts down. */
  signal: AbortSignal;
  /** A logger already carrying the job's id, type, campaign, partition and offset. */
  log: Logger;
  /** 1 on the first try. */
  attempt: number;
}

/**
 * Does the work of one job type. Resolves on success; rejects with a
 * `PermanentJobError` to dead-letter at once, a `RetryLaterError` to retry
 * after a delay, anything else to retry with backoff.
 */
export type JobHandler<T extends JobType> = (
  job: JobEventOf<T>,
  context: HandlerContext,
) => Promise<void>;

/** One handler per job type; a missing one is a type error. */
export type JobHandlers = { [T in JobType]: JobHandler<T> };

/** Like {@linkcode JobHandlers}, for workers that handle only some types. */
export type PartialJobHandlers = { [T in JobType]?: JobHandler<T> };
