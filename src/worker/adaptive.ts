/**
 * Adaptive pool size (`KAFKA_WORKER_POOL_MIN` < `KAFKA_WORKER_POOL_MAX`):
 * every few seconds the pool grows while lag grows (or a backlog would take
 * too long to drain at the current rate) and job latency holds, and shrinks
 * when the lag is gone. Growing while latency climbs would only
 * pile more load on a downstream that is already slow, so it holds instead.
 *
 * @module
 */

import type { WorkerConfig } from "../config/mod.ts";
import { logger } from "../observability/logging.ts";
import type { RunningWorker } from "./ports.ts";

/** What {@linkcode nextPoolSize} looks at. */
export interface PoolSample {
  /** Slots now. */
  size: number;
  /** `KAFKA_WORKER_POOL_MIN`. */
  min: number;
  /** `KAFKA_WORKER_POOL_MAX`. */
  max: number;
  /** Messages behind, summed over owned partitions. */
  lag: number;
  /** The lag at the previous sample. */
  previousLag: number;
  /** Mean job time since the previous sample; undefined when no job ended. */
  latencyMs: number | undefined;
  /** The usual mean job time ({@linkcode nextBaseline}). */
  baselineLatencyMs: number | undefined;
  /** Jobs finished per second in the last period. */
  jobsPerSecond: number;
}

/** A backlog that takes longer than this to drain at the current rate calls for more workers. */
const MAX_DRAIN_SECONDS = 30;

/** Latency "holds" while within this factor of the baseline (plus a few ms of noise). */
const LATENCY_TOLERANCE = 1.5;
const LATENCY_NOISE_MS = 5;

/** How fast the baseline follows a latency above it, per sample. */
const BASELINE_DRIFT = 0.1;

/**
 * The baseline latency after a sample: a lower latency becomes the baseline
 * at once, a higher one pulls it up by a tenth of the gap per sample. Jobs
 * that got slower for good (new data, another downstream) thus become the
 * new normal within a minute or two instead of stopping growth forever.
 */
export function nextBaseline(baselineMs: number | undefined, latencyMs: number): number {
  if (baselineMs === undefined || latencyMs <= baselineMs) return latencyMs;
  return baselineMs + (latencyMs - baselineMs) * BASELINE_DRIFT;
}

/** The pool size for the next period. Pure: the decision, without timers. */
export function nextPoolSize(sample: PoolSample): number {
  const { size, min, max, lag, previousLag, latencyMs, baselineLatencyMs, jobsPerSecond } = sample;
  if (min >= max) return size;
  if (lag === 0) return Math.max(min, size - Math.max(1, Math.ceil(size / 4)));
  const latencyHolds = latencyMs === undefined || baselineLatencyMs === undefined ||
    latencyMs <= baselineLatencyMs * LATENCY_TOLERANCE + LATENCY_NOISE_MS;
  const behind = lag > previousLag || lag > jobsPerSecond * MAX_DRAIN_SECONDS;
  if (behind && latencyHolds) {
    return Math.min(max, size + Math.max(1, Math.ceil(size / 2)));
  }
  return Math.min(max, Math.max(min, size));
}

/** Options of {@linkcode startAdaptivePool}. */
export interface AdaptivePoolOptions {
  /** The worker whose pool is resized. */
  worker: Pick<RunningWorker, "poolSize" | "resize" | "lag" | "stats">;
  /** The pool's bounds. */
  config: Pick<WorkerConfig, "poolMin" | "poolMax">;
  /** Time between decisions. @default 5000 */
  intervalMs?: number;
  /** Aborting it stops resizing, like `stop()`. */
  signal?: AbortSignal;
}

const log = logger("worker", "adaptive");

/** Resizes the worker's pool on an interval; a no-op in fixed-size mode. */
export function startAdaptivePool(options: AdaptivePoolOptions): { stop(): void } {
  const { worker, config } = options;
  if (config.poolMin >= config.poolMax) return { stop() {} };
  let previousLag = 0;
  let previous = worker.stats();
  let baselineLatencyMs: number | undefined;
  const intervalMs = options.intervalMs ?? 5_000;
  const timer = setInterval(() => {
    const lag = worker.lag().reduce((sum, partition) => sum + partition.lag, 0);
    const stats = worker.stats();
    const jobs = stats.jobs - previous.jobs;
    const latencyMs = jobs > 0 ? (stats.totalMs - previous.totalMs) / jobs : undefined;
    if (latencyMs !== undefined) {
      baselineLatencyMs = nextBaseline(baselineLatencyMs, latencyMs);
    }
    const size = nextPoolSize({
      size: worker.poolSize,
      min: config.poolMin,
      max: config.poolMax,
      lag,
      previousLag,
      latencyMs,
      baselineLatencyMs,
      jobsPerSecond: jobs / (intervalMs / 1000),
    });
    if (size !== worker.poolSize) {
      log.info("Lag {lag}, job time {latencyMs} ms: pool {from} -> {size}", {
        lag,
        latencyMs,
        from: worker.poolSize,
        size,
      });
      worker.resize(size);
    }
    previousLag = lag;
    previous = stats;
  }, intervalMs);
  const stop = () => clearInterval(timer);
  options.signal?.addEventListener("abort", stop, { once: true });
  return { stop };
}
