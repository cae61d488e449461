/**
 * The legacy worker: BullMQ's own `Worker` takes jobs from the legacy queues
 * and jobpool's job runner (`src/worker/job_runner.ts`, the same one the
 * Kafka worker uses) runs each: decode, dependency breakers, the handler
 * under its deadline, retries that use no attempt for outages and claims
 * held elsewhere, dead letters. What the runner decides becomes a BullMQ
 * outcome:
 *
 * | the runner's end                 | the BullMQ job                                              |
 * | -------------------------------- | ----------------------------------------------------------- |
 * | finished, handler succeeded      | completed                                                   |
 * | finished, dead-lettered          | failed (`UnrecoverableError`, the reason as `failedReason`) |
 * | abandoned (shutdown mid-retry)   | moved back to wait, no attempt counted (`WaitingError`)     |
 *
 * BullMQ's own attempts and backoff are never used: retries happen inside
 * one BullMQ run, so a job keeps its concurrency slot while it waits (the
 * Kafka worker gives the slot back) and its lock is renewed meanwhile.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { type Job, Queue, UnrecoverableError, WaitingError, Worker } from "bullmq";
import type { Config } from "../config/mod.ts";
import { redisOptions } from "../bullmq/mod.ts";
import { legacyQueues } from "../transport/mod.ts";
import type { PartialJobHandlers } from "../handlers/mod.ts";
import { JOB_TYPES } from "../jobs/mod.ts";
import { logger } from "../observability/logging.ts";
import type { WorkerMetrics } from "../observability/metrics.ts";
import { delay } from "../async/mod.ts";
import {
  type BreakerChange,
  type ConsumedMessage,
  DependencyBreakers,
  type JobItem,
  noopMetrics,
  type PoolTaskContext,
} from "../worker/mod.ts";
import { type JobRunnerOptions, runJob } from "../worker/job_runner.ts";
import { failedReason, FailedSetSink } from "./failed_set.ts";
import { legacyEnvelope } from "./mapping.ts";

/** Options of {@linkcode startLegacyWorker}. */
export interface LegacyWorkerOptions {
  /** Retries, deadlines and shutdown (`worker`), the queues and concurrency (`legacy`). */
  config: Pick<Config, "worker" | "legacy">;
  /** One handler per job type: `createJobHandlers(...)`. */
  handlers: PartialJobHandlers;
  /** Where job counts, durations, queue depth and dependency states go. */
  metrics?: WorkerMetrics;
  /** Aborting it stops the worker gracefully, like {@linkcode RunningLegacyWorker.stop}. */
  signal?: AbortSignal;
  /** How often queue depths are read (and Redis checked). @default 5000 */
  refreshMs?: number;
}

/** A started legacy worker. */
export interface RunningLegacyWorker {
  /** Redis answers, every queue's worker runs, nothing stops, every dependency is up. */
  readonly ready: boolean;
  /** Why it is not ready, or `ok`. */
  readonly readiness: string;
  /** False once a BullMQ worker died of an error. */
  readonly alive: boolean;
  /** The queues it consumes. */
  readonly queues: readonly string[];
  /**
   * Stops taking jobs, lets running jobs finish within `shutdownTimeoutMs`
   * (then aborts them), puts jobs waiting for a retry back in their queue and
   * closes the connections. Idempotent.
   */
  stop(): Promise<void>;
  /** Settles when the worker stopped: rejects when it died of an error. */
  readonly done: Promise<void>;
}

const log = logger("legacy", "worker");

/** A job's wait gives nothing back in BullMQ: its concurrency slot stays taken meanwhile. */
const IN_PLACE: PoolTaskContext = {
  sleep: (ms, signal) => delay(ms, signal ? { signal } : {}),
  wait: (until) => until,
};

/** Connects a BullMQ worker to every legacy queue; resolves once they are ready. */
export async function startLegacyWorker(
  options: LegacyWorkerOptions,
): Promise<RunningLegacyWorker> {
  const worker = new LegacyWorker(options);
  await worker.start();
  return worker;
}

class LegacyWorker implements RunningLegacyWorker {
  readonly queues: readonly string[];
  readonly #options: LegacyWorkerOptions;
  readonly #metrics: WorkerMetrics;
  readonly #breakers: DependencyBreakers;
  readonly #sink = new FailedSetSink();
  readonly #runner: JobRunnerOptions;
  readonly #stop = new AbortController();
  readonly #kill = new AbortController();
  readonly #done = Promise.withResolvers<void>();
  #workers: Worker[] = [];
  #counters: Queue[] = [];
  #stopping: Promise<void> | undefined;
  #alive = true;
  #redis = "connecting to Redis";
  #refresh: ReturnType<typeof setInterval> | undefined;

  constructor(options: LegacyWorkerOptions) {
    this.#options = options;
    this.queues = legacyQueues(options.config.legacy);
    this.#metrics = options.metrics ?? noopMetrics();
    const settings = options.config.worker;
    this.#breakers = new DependencyBreakers({
      failureThreshold: settings.dependencyFailureThreshold,
      probeIntervalMaxMs: settings.dependencyProbeMaxMs,
      onChange: (change) => this.#dependencyChanged(change),
    });
    this.#runner = {
      handlers: options.handlers,
      // Every type: a BullMQ job this worker skipped would be completed unrun.
      jobTypes: [...JOB_TYPES],
      retry: {
        maxAttempts: settings.maxAttempts,
        maxAttemptsByType: settings.maxAttemptsByType,
        baseMs: settings.retryBaseMs,
        maxMs: settings.retryMaxMs,
      },
      jobTimeoutMs: settings.jobTimeoutMs,
      abortGraceMs: Math.min(settings.shutdownTimeoutMs, 30_000),
      deadLetters: this.#sink,
      metrics: this.#metrics,
      breakers: this.#breakers,
      validate: { maxClockSkewMs: settings.maxClockSkewMs },
    };
    this.#done.promise.catch(() => {});
    options.signal?.addEventListener("abort", () => void this.stop(), { once: true });
  }

  get ready(): boolean {
    return this.readiness === "ok";
  }

  get readiness(): string {
    if (!this.#alive) return "a BullMQ worker died";
    if (this.#stopping) return "stopping";
    if (this.#redis !== "ok") return this.#redis;
    if (!this.#workers.every((worker) => worker.isRunning())) return "BullMQ workers not running";
    const down = this.#breakers.unavailable();
    if (down.length > 0) return `waiting for ${down.join(", ")} (unavailable)`;
    return "ok";
  }

  get alive(): boolean {
    return this.#alive;
  }

  get done(): Promise<void> {
    return this.#done.promise;
  }

  async start(): Promise<void> {
    const { legacy } = this.#options.config;
    const connection = redisOptions(legacy);
    this.#metrics.setPoolSize(legacy.concurrency * this.queues.length);
    this.#counters = this.queues.map((name) => {
      const queue = new Queue(name, { connection, prefix: legacy.prefix });
      queue.on("error", () => {});
      return queue;
    });
    this.#workers = this.queues.map((name) =>
      new Worker(name, (job: Job, token?: string) => this.#process(name, job, token), {
        connection,
        prefix: legacy.prefix,
        name: "jobpool-legacy",
        autorun: false,
        concurrency: legacy.concurrency,
        maxStalledCount: legacy.maxStalledCount,
        removeOnComplete: { count: legacy.keepCompleted },
        // Failed jobs (dead letters) are kept: BullMQ keeps them unless told otherwise.
      })
    );
    for (const worker of this.#workers) {
      worker.on("error", (error) => log.warn("BullMQ: {error}", { error: describe(error) }));
    }
    await Promise.all(this.#workers.map((worker) => worker.waitUntilReady()));
    const runs = this.#workers.map((worker) => worker.run());
    Promise.all(runs).then(
      () => this.#done.resolve(),
      (error) => {
        this.#alive = false;
        log.error("A BullMQ worker died: {error}", { error: describe(error) });
        this.#done.reject(error);
      },
    );
    await this.#refreshDepths();
    this.#refresh = setInterval(() => void this.#refreshDepths(), this.#options.refreshMs ?? 5_000);
    log.info("Consuming BullMQ queues {queues} with {concurrency} jobs at once each", {
      queues: this.queues.join(", "),
      concurrency: legacy.concurrency,
    });
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  async #shutdown(): Promise<void> {
    clearInterval(this.#refresh);
    // No new attempt starts; running handlers get the shutdown timeout.
    this.#stop.abort();
    const timeoutMs = this.#options.config.worker.shutdownTimeoutMs;
    const timer = setTimeout(() => this.#kill.abort(), timeoutMs);
    try {
      await Promise.all(this.#workers.map((worker) => worker.close()));
    } finally {
      clearTimeout(timer);
      await Promise.allSettled(this.#counters.map((queue) => queue.close()));
    }
    this.#done.resolve();
  }

  async #process(queue: string, job: Job, token: string | undefined): Promise<void> {
    const { legacy } = this.#options.config;
    let value: string;
    try {
      const envelope = await legacyEnvelope(job, { ...legacy, queue });
      value = JSON.stringify(envelope);
    } catch (error) {
      this.#metrics.jobStarted("unknown");
      this.#metrics.jobFinished("unknown", "dead_lettered", 0);
      log.warn("BullMQ job {jobId} of {queue} is no job event: failing it: {error}", {
        jobId: job.id,
        queue,
        error: describe(error),
      });
      throw new UnrecoverableError(describe(error));
    }
    const message: ConsumedMessage = {
      topic: `${legacy.prefix}:${queue}`,
      partition: 0,
      offset: job.id ?? "",
      key: null,
      value: Buffer.from(value),
      headers: {},
      timestamp: String(job.timestamp),
    };
    const item: JobItem = {
      message,
      stop: this.#stop.signal,
      kill: this.#kill.signal,
      result: undefined,
      handlerMs: -1,
    };
    await runJob(this.#runner, item, IN_PLACE);
    const dead = this.#sink.take(message);
    if (dead) throw new UnrecoverableError(failedReason(dead));
    if (item.result !== "finished") {
      // Stopped before its end: back in the queue for the next worker, no attempt used.
      await job.moveToWait(token);
      throw new WaitingError();
    }
  }

  /** Reads each queue's jobs that are due (the lag) and whether Redis answers. */
  async #refreshDepths(): Promise<void> {
    try {
      await Promise.all(this.#counters.map(async (queue) => {
        const counts = await queue.getJobCounts("wait", "prioritized");
        const due = Object.values(counts).reduce((sum, count) => sum + count, 0);
        this.#metrics.setLag(`${this.#options.config.legacy.prefix}:${queue.name}`, 0, due);
      }));
      this.#redis = "ok";
    } catch (error) {
      this.#redis = `Redis does not answer: ${describe(error)}`;
    }
  }

  #dependencyChanged(change: BreakerChange): void {
    this.#metrics.setDependencyUp(change.dependency, change.state === "closed");
    if (change.state === "open") {
      this.#metrics.dependencyOutage(change.dependency);
      log.warn("{dependency} is unavailable: jobs that need it wait (no attempt used): {error}", {
        dependency: change.dependency,
        error: describe(change.error),
      });
    } else if (change.state === "closed") {
      log.info("{dependency} is back: waiting jobs resume", { dependency: change.dependency });
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
