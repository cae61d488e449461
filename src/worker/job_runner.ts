/**
 * Running one consumed message to its end: decode, skip other types, call
 * the handler under a deadline, retry, or dead-letter. The result says
 * whether the message is finished (its offset may be committed) or
 * abandoned (the worker stopped owning it; Kafka will redeliver it).
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { HandlerContext, PartialJobHandlers } from "../handlers/handler.ts";
import { decodeJobEvent, JOB_HEADERS, type JobEvent, type JobType } from "../jobs/mod.ts";
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
  publish(message: OriginalMessage, reason: DeadLetterReason): Promise<void>;
}

/** What every job run shares. */
export interface JobRunnerOptions {
  handlers: PartialJobHandlers;
  /** Types this worker handles; others are skipped. */
  jobTypes: readonly JobType[];
  retry: RetryPolicy;
  jobTimeoutMs: number;
  deadLetters: DeadLetterSink;
  metrics: WorkerMetrics;
  /** Source of jitter. @default Math.random */
  random?: () => number;
}

/** One message to run, with the signals of the partition it came from. */
export interface JobRun {
  message: ConsumedMessage;
  pool: PoolTaskContext;
  /** Aborted when the partition is lost or the worker stops: no new attempt starts. */
  stop: AbortSignal;
  /** Aborted when running handlers must give up (their grace time is over). */
  kill: AbortSignal;
}

/** `finished`: commit may pass it; `abandoned`: left for redelivery. */
export type JobResult = "finished" | "abandoned";

type AnyJobHandler = (job: JobEvent, context: HandlerContext) => Promise<void>;

const baseLog = logger("worker", "job");

/** Runs `run.message` to its end; never rejects. */
export async function runJob(options: JobRunnerOptions, run: JobRun): Promise<JobResult> {
  if (run.stop.aborted) return "abandoned";
  const { message } = run;
  let event: JobEvent;
  try {
    event = decodeJobEvent(message.value);
  } catch (error) {
    const type = headerText(message, JOB_HEADERS.type) ?? "unknown";
    const log = baseLog.with({ ...messageFields(message), job_type: type });
    options.metrics.jobStarted(type);
    const now = new Date();
    const reason = { error, attempts: 0, firstFailureAt: now, lastFailureAt: now };
    return await deadLetter(options, run, { type, log, reason, startedAt: performance.now() });
  }
  if (!options.jobTypes.includes(event.type)) {
    options.metrics.jobFinished(event.type, "skipped", 0);
    return "finished";
  }
  return await attempts(options, run, event);
}

async function attempts(options: JobRunnerOptions, run: JobRun, event: JobEvent) {
  const type = event.type;
  const fields = {
    ...messageFields(run.message),
    job_id: event.id,
    job_type: type,
    campaign_id: event.campaign_id,
  };
  let firstFailureAt: Date | undefined;
  for (let attempt = 1;; attempt++) {
    const startedAt = performance.now();
    options.metrics.jobStarted(type);
    // One child logger per attempt: creating loggers shows up at high rates.
    const attemptLog = baseLog.with({ ...fields, attempt });
    try {
      await runHandler(options, event, { attempt, log: attemptLog, kill: run.kill });
      options.metrics.jobFinished(type, "succeeded", elapsed(startedAt));
      attemptLog.debug("Job succeeded");
      return "finished";
    } catch (error) {
      if (run.stop.aborted) {
        options.metrics.jobFinished(type, "retried", elapsed(startedAt));
        attemptLog.info("Job abandoned: its partition was lost or the worker stopped", { error });
        return "abandoned";
      }
      firstFailureAt ??= new Date();
      const decision = decideRetry(options.retry, { error, attempt, type }, options.random);
      if (decision.action === "dead_letter") {
        const reason = { error, attempts: attempt, firstFailureAt, lastFailureAt: new Date() };
        attemptLog.warn("Job failed for good ({reason}): dead-lettering", {
          reason: decision.reason,
          error: describe(error),
        });
        return await deadLetter(options, run, { type, log: attemptLog, reason, startedAt });
      }
      options.metrics.jobFinished(type, "retried", elapsed(startedAt));
      attemptLog.warn("Job failed, retrying in {delayMs} ms", {
        delayMs: decision.delayMs,
        error: describe(error),
      });
      if (!await sleep(run, decision.delayMs)) return "abandoned";
    }
  }
}

async function runHandler(
  options: JobRunnerOptions,
  event: JobEvent,
  context: { attempt: number; log: Logger; kill: AbortSignal },
): Promise<void> {
  const handler = options.handlers[event.type] as AnyJobHandler | undefined;
  if (!handler) throw new UnhandledJobTypeError(event.type);
  // One controller per attempt, aborted by the deadline or by `kill`
  // (cheaper than `AbortSignal.any`, which matters at thousands of jobs a second).
  const controller = new AbortController();
  const { signal } = controller;
  const onKill = () => controller.abort(context.kill.reason);
  if (context.kill.aborted) onKill();
  else context.kill.addEventListener("abort", onKill, { once: true });
  const timer = setTimeout(
    () => controller.abort(new JobTimeoutError(options.jobTimeoutMs)),
    options.jobTimeoutMs,
  );
  // A handler that ignores its signal must not hold the job past its
  // deadline: the race ends the attempt when the signal aborts.
  const { promise: aborted, reject } = Promise.withResolvers<never>();
  const onAbort = () => reject(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const work = (async () => {
      await handler(event, { signal, log: context.log, attempt: context.attempt });
    })();
    await Promise.race([work, aborted]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
    context.kill.removeEventListener("abort", onKill);
  }
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

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function elapsed(startedAt: number): number {
  return (performance.now() - startedAt) / 1000;
}
