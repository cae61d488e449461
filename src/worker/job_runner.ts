/**
 * Running one consumed message to its end: decode, skip other types, call
 * the handler under a deadline, retry, or dead-letter. The result says
 * whether the message is finished (its offset may be committed) or
 * abandoned (the worker stopped owning it; Kafka will redeliver it).
 *
 * Per-job cost matters at tens of thousands of jobs a second, so the common
 * path (first attempt succeeds) allocates little: no timer per job (one
 * timer per deadline queue, see {@linkcode HandlerAttempt}), no
 * `AbortController` or child logger unless the handler reads `signal` or
 * `log`, and no listener on the partition's `kill` signal per job.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { HandlerContext, PartialJobHandlers } from "../handlers/handler.ts";
import {
  decodeJobEvent,
  isJobType,
  JOB_HEADERS,
  JOB_TYPES,
  type JobEvent,
  type JobType,
} from "../jobs/mod.ts";
import type { WorkerMetrics } from "../observability/metrics.ts";
import { logger } from "../observability/logging.ts";
import type { ConsumedMessage } from "./consumer.ts";
import type { DeadLetterReason, OriginalMessage } from "./dead_letter.ts";
import type { PoolTaskContext } from "./keyed_pool.ts";
import {
  backoffDelay,
  decideRetry,
  JobTimeoutError,
  type RetryPolicy,
  UnhandledJobTypeError,
} from "./retry.ts";

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
  /** Source of jitter. @default Math.random */
  random?: () => number;
  /**
   * How long a handler aborted at its deadline gets to settle before the job
   * is retried or dead-lettered; the job keeps its slot and key meanwhile.
   * @default 30000
   */
  abortGraceMs?: number;
}

/** One message to run, with the signals of the partition it came from. */
export interface JobRun {
  /** The consumed message. */
  message: ConsumedMessage;
  /** The pool slot it runs in (to sleep between attempts). */
  pool: PoolTaskContext;
  /** Aborted when the partition is lost or the worker stops: no new attempt starts. */
  stop: AbortSignal;
  /** Aborted when running handlers must give up (their grace time is over). */
  kill: AbortSignal;
  /** `performance.now()` when the job was taken up, when the caller has it already. */
  startedAt?: number;
  /**
   * Called once, as the job ends and before the returned promise settles,
   * with its result and `performance.now()` then (cheaper per job than a
   * reaction on the promise and a clock read of the caller's own). `ran` is
   * false when no handler ran (skipped, undecodable, or abandoned before it
   * started).
   */
  onEnd?: (result: JobResult, endedAt: number, ran: boolean) => void;
}

/** `finished`: commit may pass it; `abandoned`: left for redelivery. */
export type JobResult = "finished" | "abandoned";

type AnyJobHandler = (job: JobEvent, context: HandlerContext) => Promise<void>;

const baseLog = logger("worker", "job");
const FINISHED: Promise<JobResult> = Promise.resolve("finished");
const ABANDONED: Promise<JobResult> = Promise.resolve("abandoned");

/** Runs `run.message` to its end; never rejects. */
export function runJob(options: JobRunnerOptions, run: JobRun): Promise<JobResult> {
  if (run.stop.aborted) return ended(run, ABANDONED, "abandoned");
  const { message } = run;
  // A pool that handles some types only skips other types by their header
  // before decoding: a message that does not decode is dead-lettered once, by
  // the pools whose types it claims (or that handle every type).
  if (options.jobTypes.length < JOB_TYPES.length) {
    const claimed = headerText(message, JOB_HEADERS.type);
    if (claimed !== undefined && !options.jobTypes.includes(claimed as JobType)) {
      options.metrics.jobFinished(metricType(claimed), "skipped", 0);
      return ended(run, FINISHED, "finished");
    }
  }
  let event: JobEvent;
  try {
    event = decodeJobEvent(message.value);
  } catch (error) {
    return endedLater(run, undecodable(options, run, error), false);
  }
  const type = event.type;
  if (!options.jobTypes.includes(type)) {
    options.metrics.jobFinished(type, "skipped", 0);
    return ended(run, FINISHED, "finished");
  }
  // The first attempt without an async frame: most jobs end here.
  const startedAt = run.startedAt ?? performance.now();
  options.metrics.jobStarted(type);
  const attempt = new HandlerAttempt(options.jobTimeoutMs, run, event, 1, startedAt);
  // One promise per job: the attempt reports through callbacks.
  return new Promise<JobResult>((resolve) => {
    attempt.start(
      options.handlers[type] as AnyJobHandler | undefined,
      () => {
        const endedAt = succeeded(options, attempt, type, startedAt);
        run.onEnd?.("finished", endedAt, true);
        resolve("finished");
      },
      (error) => {
        resolve(endedLater(run, failed(options, run, event, { attempt, error, startedAt }), true));
      },
    );
  });
}

function ended(run: JobRun, promise: Promise<JobResult>, result: JobResult): Promise<JobResult> {
  run.onEnd?.(result, performance.now(), false);
  return promise;
}

function endedLater(
  run: JobRun,
  promise: Promise<JobResult>,
  ran: boolean,
): Promise<JobResult> {
  const { onEnd } = run;
  if (!onEnd) return promise;
  return promise.then((result) => {
    onEnd(result, performance.now(), ran);
    return result;
  });
}

/** Records a successful attempt; returns `performance.now()` at its end. */
function succeeded(
  options: JobRunnerOptions,
  attempt: HandlerAttempt,
  type: string,
  startedAt: number,
): number {
  const endedAt = performance.now();
  options.metrics.jobFinished(type, "succeeded", (endedAt - startedAt) / 1000);
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

/** After a failed attempt: retry (slot freed meanwhile), dead-letter, or abandon. */
async function failed(
  options: JobRunnerOptions,
  run: JobRun,
  event: JobEvent,
  failure: { attempt: HandlerAttempt; error: unknown; startedAt: number },
): Promise<JobResult> {
  const type = event.type;
  let { attempt, error, startedAt } = failure;
  let firstFailureAt: Date | undefined;
  for (;;) {
    const log = attempt.log;
    if (run.stop.aborted) {
      options.metrics.jobFinished(type, "retried", elapsed(startedAt));
      log.info("Job abandoned: its partition was lost or the worker stopped", { error });
      return "abandoned";
    }
    const running = attempt.stillRunning();
    if (running && !await handlerStopped(options, run, attempt, running)) return "abandoned";
    firstFailureAt ??= new Date();
    const decision = decideRetry(
      options.retry,
      { error, attempt: attempt.attempt, type },
      options.random,
    );
    if (decision.action === "dead_letter") {
      const reason = {
        error,
        attempts: attempt.attempt,
        firstFailureAt,
        lastFailureAt: new Date(),
      };
      log.warn("Job failed for good ({reason}): dead-lettering", {
        reason: decision.reason,
        error: describe(error),
      });
      return await deadLetter(options, run, { type, log, reason, startedAt });
    }
    options.metrics.jobFinished(type, "retried", elapsed(startedAt));
    log.warn("Job failed, retrying in {delayMs} ms", {
      delayMs: decision.delayMs,
      error: describe(error),
    });
    if (!await sleep(run, decision.delayMs)) return "abandoned";
    startedAt = performance.now();
    options.metrics.jobStarted(type);
    attempt = new HandlerAttempt(options.jobTimeoutMs, run, event, attempt.attempt + 1, startedAt);
    const handler = options.handlers[type] as AnyJobHandler | undefined;
    const next = attempt;
    try {
      await new Promise<void>((resolve, reject) => next.start(handler, resolve, reject));
      succeeded(options, attempt, type, startedAt);
      return "finished";
    } catch (next) {
      error = next;
    }
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
  run: JobRun,
  attempt: HandlerAttempt,
  running: Promise<void>,
): Promise<boolean> {
  const graceMs = options.abortGraceMs ?? 30_000;
  const settled = running.then(() => true, () => true);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((resolve) => timer = setTimeout(resolve, graceMs, false));
  const stopped = await Promise.race([settled, late]);
  clearTimeout(timer);
  if (stopped) return true;
  attempt.log.error(
    "Handler did not stop {graceMs} ms after it was aborted: its key waits until it returns",
    { graceMs },
  );
  const returned = new AbortController();
  void settled.then(() => returned.abort());
  await run.pool.sleep(2 ** 31 - 1, AbortSignal.any([returned.signal, run.stop])).catch(() => {});
  return !run.stop.aborted;
}

/** A message that is no job event: dead-lettered at once, with 0 attempts. */
function undecodable(
  options: JobRunnerOptions,
  run: JobRun,
  error: unknown,
): Promise<JobResult> {
  const { message } = run;
  // The header is untrusted: metrics label it with a known type or `unknown`.
  const type = metricType(headerText(message, JOB_HEADERS.type));
  const log = baseLog.with({ ...messageFields(message), job_type: type });
  options.metrics.jobStarted(type);
  const now = new Date();
  const reason = { error, attempts: 0, firstFailureAt: now, lastFailureAt: now };
  return deadLetter(options, run, { type, log, reason, startedAt: performance.now() });
}

/**
 * One call of a handler, and the context it gets. `signal` and `log` are
 * made on first read: a handler that reads neither costs neither.
 *
 * Deadlines: every running attempt with the same timeout sits in one
 * doubly linked list in start order, which is then also deadline order, with
 * one timer armed for the earliest. Ending an attempt unlinks it (no hashing,
 * no allocation); the timer is cleared when the list empties. The
 * partition's `kill` signal gets one listener per signal (not per attempt),
 * which aborts the attempts of that partition.
 */
class HandlerAttempt implements HandlerContext {
  static readonly #queues = new Map<number, DeadlineQueue>();
  static readonly #watched = new WeakSet<AbortSignal>();

  /** 1 on the first try. */
  readonly attempt: number;
  readonly #event: JobEvent;
  readonly #message: ConsumedMessage;
  readonly #kill: AbortSignal;
  readonly #deadline: number;
  readonly #queue: DeadlineQueue;
  #controller: AbortController | undefined;
  #log: Logger | undefined;
  #aborted = false;
  #reason: unknown;
  #settled = false;
  #onFail: ((reason: unknown) => void) | undefined;
  /** The handler's promise until it settles (kept for an aborted attempt). */
  #work: Promise<void> | undefined;
  #linked = false;
  #prev: HandlerAttempt | undefined;
  #next: HandlerAttempt | undefined;

  constructor(timeoutMs: number, run: JobRun, event: JobEvent, attempt: number, startedAt: number) {
    this.attempt = attempt;
    this.#event = event;
    this.#message = run.message;
    this.#kill = run.kill;
    this.#deadline = startedAt + timeoutMs;
    let queue = HandlerAttempt.#queues.get(timeoutMs);
    if (!queue) {
      queue = { timeoutMs, first: undefined, last: undefined, timer: undefined };
      HandlerAttempt.#queues.set(timeoutMs, queue);
    }
    this.#queue = queue;
  }

  /** Aborted when the deadline passes or the partition's handlers are killed. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** A logger carrying the job's id, type, campaign, partition, offset and attempt. */
  get log(): Logger {
    this.#log ??= baseLog.with({
      ...messageFields(this.#message),
      job_id: this.#event.id,
      job_type: this.#event.type,
      campaign_id: this.#event.campaign_id,
      attempt: this.attempt,
    });
    return this.#log;
  }

  /**
   * Calls `handler`, then exactly one of `onDone` and `onFail`: as the
   * handler settles, or with the reason as soon as the deadline passes or
   * `kill` aborts, even when the handler ignores its signal.
   */
  start(
    handler: AnyJobHandler | undefined,
    onDone: () => void,
    onFail: (error: unknown) => void,
  ): void {
    if (!handler) {
      this.#settled = true;
      onFail(new UnhandledJobTypeError(this.#event.type));
      return;
    }
    this.#onFail = onFail;
    this.#enter();
    let work: Promise<void>;
    try {
      work = Promise.resolve(handler(this.#event, this));
    } catch (error) {
      if (this.#settle()) onFail(error);
      return;
    }
    this.#work = work;
    work.then(
      () => {
        this.#work = undefined;
        if (this.#settle()) onDone();
      },
      (error) => {
        this.#work = undefined;
        if (this.#settle()) onFail(error);
      },
    );
  }

  /** The handler's promise when the attempt was aborted and the handler has not settled yet. */
  stillRunning(): Promise<void> | undefined {
    return this.#aborted ? this.#work : undefined;
  }

  /** True the first time: the attempt ends here and leaves its deadline queue. */
  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#leave();
    return true;
  }

  #abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    if (this.#settle()) this.#onFail?.(reason);
  }

  #enter(): void {
    const queue = this.#queue;
    this.#linked = true;
    this.#prev = queue.last;
    if (queue.last) queue.last.#next = this;
    else queue.first = this;
    queue.last = this;
    if (queue.timer === undefined) HandlerAttempt.#arm(queue, this.#deadline);
    const kill = this.#kill;
    if (kill.aborted) {
      this.#abort(kill.reason);
    } else if (!HandlerAttempt.#watched.has(kill)) {
      HandlerAttempt.#watched.add(kill);
      kill.addEventListener("abort", () => HandlerAttempt.#killed(kill), { once: true });
    }
  }

  #leave(): void {
    if (!this.#linked) return;
    this.#linked = false;
    const queue = this.#queue;
    const prev = this.#prev;
    const next = this.#next;
    if (prev) prev.#next = next;
    else queue.first = next;
    if (next) next.#prev = prev;
    else queue.last = prev;
    this.#prev = undefined;
    this.#next = undefined;
    if (queue.first === undefined && queue.timer !== undefined) {
      clearTimeout(queue.timer);
      queue.timer = undefined;
    }
  }

  static #arm(queue: DeadlineQueue, deadline: number): void {
    if (queue.timer !== undefined) clearTimeout(queue.timer);
    queue.timer = setTimeout(
      () => HandlerAttempt.#sweep(queue),
      Math.max(0, Math.ceil(deadline - performance.now())),
    );
  }

  /** Aborts every attempt past its deadline, then waits for the next one. */
  static #sweep(queue: DeadlineQueue): void {
    queue.timer = undefined;
    const now = performance.now();
    for (let attempt = queue.first; attempt; attempt = queue.first) {
      if (attempt.#deadline > now) {
        HandlerAttempt.#arm(queue, attempt.#deadline);
        return;
      }
      // Unlinks it: the loop goes on with the new first.
      attempt.#abort(new JobTimeoutError(queue.timeoutMs));
    }
  }

  /** `kill` aborted: every running attempt of its partition ends now. */
  static #killed(kill: AbortSignal): void {
    for (const queue of HandlerAttempt.#queues.values()) {
      const killed: HandlerAttempt[] = [];
      for (let attempt = queue.first; attempt; attempt = attempt.#next) {
        if (attempt.#kill === kill) killed.push(attempt);
      }
      for (const attempt of killed) attempt.#abort(kill.reason);
    }
  }
}

/** The running attempts of one timeout, earliest deadline first. */
interface DeadlineQueue {
  readonly timeoutMs: number;
  first: HandlerAttempt | undefined;
  last: HandlerAttempt | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
}

async function deadLetter(
  options: JobRunnerOptions,
  run: JobRun,
  failure: { type: string; log: Logger; reason: DeadLetterReason; startedAt: number },
): Promise<JobResult> {
  const { type, log, reason, startedAt } = failure;
  for (let attempt = 1;; attempt++) {
    try {
      await options.deadLetters.publish(run.message, reason);
      options.metrics.jobFinished(type, "dead_lettered", elapsed(startedAt));
      log.warn("Job dead-lettered: {error}", { error: describe(reason.error) });
      return "finished";
    } catch (error) {
      // The offset must not count as finished before its dead letter is
      // stored, so keep trying (slot freed meanwhile) until the partition is lost.
      log.error("Could not publish the dead letter, retrying: {error}", {
        error: describe(error),
      });
      const delayMs = backoffDelay(options.retry, attempt, options.random ?? Math.random);
      if (!await sleep(run, Math.max(delayMs, 100))) {
        options.metrics.jobFinished(type, "retried", elapsed(startedAt));
        return "abandoned";
      }
    }
  }
}

async function sleep(run: JobRun, ms: number): Promise<boolean> {
  try {
    await run.pool.sleep(ms, run.stop);
    return true;
  } catch {
    return false;
  }
}

function messageFields(message: ConsumedMessage) {
  return { topic: message.topic, partition: message.partition, offset: message.offset };
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
