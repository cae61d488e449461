/**
 * Running one consumed message to its end: decode, skip other types, wait
 * for the dependencies its type needs, call the handler under a deadline,
 * retry, or dead-letter. The job's end is written on its
 * {@linkcode JobItem} (`result`, `handlerMs`), which the pool hands back to
 * the worker: one channel, read in one place.
 *
 * Per-job cost matters at tens of thousands of jobs a second, so the common
 * path (every dependency up, first attempt succeeds) allocates little: no
 * timer per job (see `deadlines.ts`), no `AbortController` or child logger
 * unless the handler reads `signal` or `log`, one promise per job.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { PartialJobHandlers } from "../handlers/handler.ts";
import {
  decodeJobEvent,
  DependencyUnavailableError,
  isJobType,
  JOB_HEADERS,
  JOB_TYPES,
  type JobEvent,
  type JobType,
  LeaseHeldError,
  type ValidateOptions,
} from "../jobs/mod.ts";
import type { WorkerMetrics } from "../observability/metrics.ts";
import { logger } from "../observability/logging.ts";
import type { Admission, DependencyBreakers } from "./breakers.ts";
import type { ConsumedMessage } from "./consumer.ts";
import type { DeadLetterReason, OriginalMessage } from "./dead_letter.ts";
import { type AnyJobHandler, HandlerAttempt, messageFields } from "./deadlines.ts";
import type { PoolTaskContext } from "./keyed_pool.ts";
import { backoffDelay, decideRetry, type RetryPolicy } from "./retry.ts";

/** Where dead letters go. */
export interface DeadLetterSink {
  /** Publishes `message` with `reason`; resolves once it is stored. */
  publish(message: OriginalMessage, reason: DeadLetterReason): Promise<void>;
}

/** What every job run shares. */
export interface JobRunnerOptions {
  /** The handler of each job type. */
  handlers: PartialJobHandlers;
  /** Types this worker handles; others are skipped. */
  jobTypes: readonly JobType[];
  /** Attempts and backoff. */
  retry: RetryPolicy;
  /** A handler's deadline per attempt. */
  jobTimeoutMs: number;
  /** Where jobs that failed for good go. */
  deadLetters: DeadLetterSink;
  /** Where job counts and durations go. */
  metrics: WorkerMetrics;
  /** The dependencies' circuit breakers: jobs wait here during an outage. */
  breakers: DependencyBreakers;
  /** Decoding options (clock skew). */
  validate?: ValidateOptions;
  /** Source of jitter. @default Math.random */
  random?: () => number;
  /**
   * How long a handler aborted at its deadline gets to settle before the job
   * is retried or dead-lettered; the job keeps its slot and key meanwhile.
   * @default 30000
   */
  abortGraceMs?: number;
}

/** `finished`: commit may pass it; `abandoned`: left for redelivery. */
export type JobResult = "finished" | "abandoned";

/** One consumed message on its way through the worker. */
export interface JobItem {
  /** The consumed message. */
  readonly message: ConsumedMessage;
  /** Aborted when the partition is lost or the worker stops: no new attempt starts. */
  readonly stop: AbortSignal;
  /** Aborted when running handlers must give up (their grace time is over). */
  readonly kill: AbortSignal;
  /** How the job ended; set once, before the promise of {@linkcode runJob} settles. */
  result: JobResult | undefined;
  /** Time from the first attempt's start to the job's end, or -1 when no handler ran. */
  handlerMs: number;
}

const baseLog = logger("worker", "job");
const DONE: Promise<void> = Promise.resolve();

/** Runs `item` to its end; never rejects. Its end is on `item.result`. */
export function runJob(
  options: JobRunnerOptions,
  item: JobItem,
  pool: PoolTaskContext,
): Promise<void> {
  if (item.stop.aborted) return end(item, "abandoned", -1);
  const { message } = item;
  // A pool that handles some types only skips other types by their header
  // before decoding: a message that does not decode is dead-lettered once, by
  // the pools whose types it claims (or that handle every type).
  if (options.jobTypes.length < JOB_TYPES.length) {
    const claimed = headerText(message, JOB_HEADERS.type);
    if (claimed !== undefined && !options.jobTypes.includes(claimed as JobType)) {
      options.metrics.jobFinished(metricType(claimed), "skipped", 0);
      return end(item, "finished", -1);
    }
  }
  let event: JobEvent;
  try {
    event = decodeJobEvent(message.value, options.validate);
  } catch (error) {
    return undecodable(options, item, { pool, error });
  }
  if (!options.jobTypes.includes(event.type)) {
    options.metrics.jobFinished(event.type, "skipped", 0);
    return end(item, "finished", -1);
  }
  const held = options.breakers.admit(event.type, item.stop);
  if (held) return heldFirst(options, item, pool, { event, held });
  return firstAttempt(options, item, pool, { event, admission: undefined });
}

function end(item: JobItem, result: JobResult, handlerMs: number): Promise<void> {
  item.result = result;
  item.handlerMs = handlerMs;
  return DONE;
}

/** The first attempt, started without an async frame: most jobs end in its callback. */
function firstAttempt(
  options: JobRunnerOptions,
  item: JobItem,
  pool: PoolTaskContext,
  job: { event: JobEvent; admission: Admission | undefined },
): Promise<void> {
  const { event, admission } = job;
  const type = event.type;
  const startedAt = performance.now();
  options.metrics.jobStarted(type);
  const attempt = new HandlerAttempt({
    timeoutMs: options.jobTimeoutMs,
    message: item.message,
    event,
    kill: item.kill,
    attempt: 1,
    startedAt,
  });
  return new Promise<void>((resolve) => {
    attempt.start(
      options.handlers[type] as AnyJobHandler | undefined,
      () => {
        const endedAt = succeeded(options, attempt, admission, startedAt);
        item.result = "finished";
        item.handlerMs = endedAt - startedAt;
        resolve();
      },
      (error) => {
        resolve(afterFailure(options, item, pool, { event, attempt, error, admission, startedAt }));
      },
    );
  });
}

/** A job whose type needs a dependency that is down: it waits (slot freed), then runs. */
async function heldFirst(
  options: JobRunnerOptions,
  item: JobItem,
  pool: PoolTaskContext,
  job: { event: JobEvent; held: Promise<Admission> },
): Promise<void> {
  let admission: Admission;
  try {
    admission = await pool.wait(job.held);
  } catch {
    return void end(item, "abandoned", -1);
  }
  await firstAttempt(options, item, pool, { event: job.event, admission });
}

/** Records a successful attempt; returns `performance.now()` at its end. */
function succeeded(
  options: JobRunnerOptions,
  attempt: HandlerAttempt,
  admission: Admission | undefined,
  attemptStartedAt: number,
): number {
  const endedAt = performance.now();
  const type = attempt.type;
  options.breakers.succeeded(type, admission);
  options.metrics.jobFinished(type, "succeeded", (endedAt - attemptStartedAt) / 1000);
  if (debugEnabled()) attempt.log.debug("Job succeeded");
  return endedAt;
}

let debugChecks = 0;
let debugOn = false;

/**
 * Whether job loggers log at debug level, asked of LogTape every 256th job
 * (the question allocates and costs about as much as a no-op job's
 * bookkeeping); logging is configured once at start-up.
 */
function debugEnabled(): boolean {
  if ((debugChecks++ & 255) === 0) debugOn = baseLog.isEnabledFor("debug");
  return debugOn;
}

/** A failed attempt, and what the job carries into the next one. */
interface Failure {
  event: JobEvent;
  attempt: HandlerAttempt;
  error: unknown;
  admission: Admission | undefined;
  /** When the job's first attempt started. */
  startedAt: number;
}

/**
 * After a failed attempt: retry (slot freed meanwhile), wait for a dependency
 * or a claim (no attempt used), dead-letter, or abandon.
 */
async function afterFailure(
  options: JobRunnerOptions,
  item: JobItem,
  pool: PoolTaskContext,
  failure: Failure,
): Promise<void> {
  const { event, startedAt } = failure;
  const type = event.type;
  let { attempt, error, admission } = failure;
  let attemptStartedAt = startedAt;
  let firstFailureAt: Date | undefined;
  for (;;) {
    const log = attempt.log;
    const running = item.kill.aborted ? undefined : attempt.stillRunning();
    if (running && !await handlerStopped(options, item, { attempt, running, pool })) {
      options.breakers.released(admission);
      return void end(item, "abandoned", performance.now() - startedAt);
    }
    if (item.stop.aborted) {
      options.breakers.released(admission);
      options.metrics.jobFinished(type, "retried", elapsed(attemptStartedAt));
      log.info("Job abandoned: its partition was lost or the worker stopped", { error });
      return void end(item, "abandoned", performance.now() - startedAt);
    }
    firstFailureAt ??= new Date();
    const dependency = error instanceof DependencyUnavailableError ? error.dependency : undefined;
    const count = options.breakers.failed(type, { dependency, error }, admission);
    admission = undefined;
    const decision = decideRetry(
      options.retry,
      { error, attempt: attempt.attempt, type, outage: count === "outage" },
      options.random,
    );
    if (decision.action === "dead_letter") {
      log.warn("Job failed for good ({reason}): dead-lettering", {
        reason: decision.reason,
        error: describe(error),
      });
      const reason: DeadLetterReason = {
        error,
        attempts: attempt.attempt,
        firstFailureAt,
        lastFailureAt: new Date(),
        jobType: type,
      };
      await deadLetter(options, item, pool, { type, log, reason, startedAt: attemptStartedAt });
      return void end(item, item.result ?? "abandoned", performance.now() - startedAt);
    }
    options.metrics.jobFinished(
      type,
      decision.charged ? "retried" : "waited",
      elapsed(attemptStartedAt),
    );
    logRetry(log, error, decision);
    const next = await nextAdmission(options, item, pool, { type, delayMs: decision.delayMs });
    if (next === undefined) return void end(item, "abandoned", performance.now() - startedAt);
    admission = next.admission;
    attemptStartedAt = performance.now();
    options.metrics.jobStarted(type);
    attempt = new HandlerAttempt({
      timeoutMs: options.jobTimeoutMs,
      message: item.message,
      event,
      kill: item.kill,
      attempt: attempt.attempt + (decision.charged ? 1 : 0),
      startedAt: attemptStartedAt,
    });
    const handler = options.handlers[type] as AnyJobHandler | undefined;
    const current = attempt;
    try {
      await new Promise<void>((resolve, reject) => current.start(handler, resolve, reject));
      const endedAt = succeeded(options, attempt, admission, attemptStartedAt);
      return void end(item, "finished", endedAt - startedAt);
    } catch (next) {
      error = next;
    }
  }
}

function logRetry(
  log: Logger,
  error: unknown,
  decision: { delayMs: number; charged: boolean },
): void {
  const fields = { delayMs: decision.delayMs, error: describe(error) };
  if (decision.charged) log.warn("Job failed, retrying in {delayMs} ms", fields);
  else if (error instanceof LeaseHeldError) {
    log.info("Job waits {delayMs} ms for a claim held elsewhere: {error}", fields);
  } else log.debug("Job waits for its dependency to recover: {error}", fields);
}

/**
 * Sleeps `delayMs` with the slot given back, then waits for the job's
 * dependencies; undefined when the job was abandoned meanwhile.
 */
async function nextAdmission(
  options: JobRunnerOptions,
  item: JobItem,
  pool: PoolTaskContext,
  next: { type: string; delayMs: number },
): Promise<{ admission: Admission | undefined } | undefined> {
  try {
    if (next.delayMs > 0) await pool.sleep(next.delayMs, item.stop);
    const held = options.breakers.admit(next.type, item.stop);
    return { admission: held ? await pool.wait(held) : undefined };
  } catch {
    return undefined;
  }
}

/**
 * Waits for a handler that was aborted but has not returned, so that no retry
 * (or later job of its key) runs alongside it. It keeps its slot for
 * `abortGraceMs`; past that an error is logged and the job gives its slot back
 * but keeps its key until the handler settles: the key, and the partition's
 * commits behind it, wait rather than risk two runs at once (the lag shows
 * it). Returns false when the worker stopped owning the job meanwhile.
 */
async function handlerStopped(
  options: JobRunnerOptions,
  item: JobItem,
  aborted: { attempt: HandlerAttempt; running: Promise<void>; pool: PoolTaskContext },
): Promise<boolean> {
  const graceMs = options.abortGraceMs ?? 30_000;
  const settled = aborted.running.then(() => true, () => true);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((resolve) => timer = setTimeout(resolve, graceMs, false));
  const stopped = await Promise.race([settled, late]);
  clearTimeout(timer);
  if (stopped) return true;
  aborted.attempt.log.error(
    "Handler did not stop {graceMs} ms after it was aborted: its key waits until it returns",
    { graceMs },
  );
  await aborted.pool.wait(Promise.race([settled, aborts(item.stop)]));
  return !item.stop.aborted;
}

/** Resolves once `signal` aborts (never rejects). */
function aborts(signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(false), { once: true })
  );
}

/** A message that is no job event: dead-lettered at once, with 0 attempts. */
async function undecodable(
  options: JobRunnerOptions,
  item: JobItem,
  failure: { pool: PoolTaskContext; error: unknown },
): Promise<void> {
  const { pool, error } = failure;
  const { message } = item;
  const jobType = headerText(message, JOB_HEADERS.type) ?? envelopeType(message);
  // The type is untrusted: metrics label it with a known type or `unknown`.
  const type = metricType(jobType);
  const log = baseLog.with({ ...messageFields(message), job_type: jobType ?? "unknown" });
  options.metrics.jobStarted(type);
  const now = new Date();
  const reason: DeadLetterReason = {
    error,
    attempts: 0,
    firstFailureAt: now,
    lastFailureAt: now,
    ...(jobType === undefined ? {} : { jobType }),
  };
  log.warn("Job is not a valid job event: dead-lettering: {error}", { error: describe(error) });
  await deadLetter(options, item, pool, { type, log, reason, startedAt: performance.now() });
  item.handlerMs = -1;
  item.result ??= "abandoned";
}

/** The `type` field of a message's JSON value, when it has a string one. */
function envelopeType(message: ConsumedMessage): string | undefined {
  try {
    const parsed = JSON.parse(message.value?.toString("utf8") ?? "null");
    const type = parsed?.type;
    return typeof type === "string" && type.length > 0 ? type.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Publishes the dead letter, trying again (slot freed meanwhile) until it is
 * stored or the partition is lost: the offset must not count as finished
 * before its dead letter exists. Sets `item.result` to `finished` once stored.
 */
async function deadLetter(
  options: JobRunnerOptions,
  item: JobItem,
  pool: PoolTaskContext,
  failure: { type: string; log: Logger; reason: DeadLetterReason; startedAt: number },
): Promise<void> {
  const { type, log, reason, startedAt } = failure;
  for (let attempt = 1;; attempt++) {
    try {
      await options.deadLetters.publish(item.message, reason);
      options.metrics.jobFinished(type, "dead_lettered", elapsed(startedAt));
      log.warn("Job dead-lettered after {attempts} attempts: {error}", {
        attempts: reason.attempts,
        error: describe(reason.error),
      });
      item.result = "finished";
      return;
    } catch (error) {
      log.error("Could not publish the dead letter, retrying: {error}", {
        error: describe(error),
      });
      const delayMs = backoffDelay(options.retry, attempt, options.random ?? Math.random);
      try {
        await pool.sleep(Math.max(delayMs, 100), item.stop);
      } catch {
        options.metrics.jobFinished(type, "retried", elapsed(startedAt));
        item.result = "abandoned";
        return;
      }
    }
  }
}

function headerText(message: ConsumedMessage, name: string): string | undefined {
  const value = message.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

function metricType(type: string | undefined): string {
  return isJobType(type) ? type : "unknown";
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function elapsed(startedAt: number): number {
  return (performance.now() - startedAt) / 1000;
}
