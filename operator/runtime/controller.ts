/**
 * The loop that drains the work queue into a reconciler: `concurrency`
 * workers, never two on one key; an error re-queues the key with backoff; a
 * result may ask for a later requeue; every `resyncPeriodMs` all known keys
 * are queued again, so drift is corrected even without events.
 *
 * @module
 */

import { logger } from "../../src/observability/logging.ts";
import { type Clock, sleep, systemClock } from "./clock.ts";
import type { OperatorMetrics } from "./metrics.ts";
import type { WorkQueue } from "./work_queue.ts";

/** What a reconcile asks for next. */
export interface ReconcileResult {
  /** Queue the key again after this long (also after a success). */
  requeueAfterMs?: number;
}

/** Brings the world in line with one object, found by its `namespace/name` key. */
export interface Reconciler {
  /** Reconciles the object at `key`; a throw re-queues it with backoff. */
  reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult>;
}

/** Options of {@linkcode runController}. */
export interface ControllerOptions {
  /** Where keys wait. */
  queue: WorkQueue;
  /** What runs for each key. */
  reconciler: Reconciler;
  /** Reconcile counts, errors, durations and queue depth go here. */
  metrics: OperatorMetrics;
  /** Keys to queue at every resync (e.g. every cached primary object). */
  resyncKeys: () => string[];
  /** @default 300000 (5 minutes) */
  /** How often every key is queued again. */
  resyncPeriodMs?: number;
  /** Workers. @default 4 */
  concurrency?: number;
  /** Called after every reconcile (for latency measurements in benchmarks). */
  onReconciled?: (key: string, seconds: number, error: unknown) => void;
  /** Time source; default the system clock. */
  clock?: Clock;
}

const log = logger("operator", "controller");

/** Runs workers until `signal` aborts, then shuts the queue down. */
export async function runController(
  options: ControllerOptions,
  signal: AbortSignal,
): Promise<void> {
  const { queue, metrics } = options;
  const clock = options.clock ?? systemClock;
  const resync = async () => {
    const period = options.resyncPeriodMs ?? 300_000;
    while (!signal.aborted) {
      try {
        await sleep(clock, period, signal);
      } catch {
        return;
      }
      for (const key of options.resyncKeys()) queue.add(key);
      metrics.queueDepth.set(queue.length);
    }
  };
  const worker = async () => {
    for (;;) {
      const key = await queue.get(signal);
      if (key === undefined) return;
      metrics.queueDepth.set(queue.length);
      const started = performance.now();
      let failure: unknown;
      try {
        const result = await options.reconciler.reconcile(key, signal);
        queue.forget(key);
        if (result.requeueAfterMs !== undefined) {
          queue.addAfter(key, result.requeueAfterMs);
          metrics.reconcileTotal.inc({ result: "requeue" });
        } else {
          metrics.reconcileTotal.inc({ result: "success" });
        }
      } catch (error) {
        failure = error;
        if (!signal.aborted) {
          const delay = queue.addRateLimited(key);
          metrics.reconcileTotal.inc({ result: "error" });
          metrics.reconcileErrors.inc();
          log.warn("Reconcile of {key} failed, retrying in {delay} ms: {error}", {
            key,
            delay,
            error: error instanceof Error ? error.message : String(error),
          });
        }
      } finally {
        const seconds = (performance.now() - started) / 1000;
        metrics.reconcileDuration.observe(seconds);
        queue.done(key);
        metrics.queueDepth.set(queue.length);
        options.onReconciled?.(key, seconds, failure);
      }
    }
  };
  const stop = () => queue.shutDown();
  signal.addEventListener("abort", stop, { once: true });
  try {
    const workers = Array.from({ length: options.concurrency ?? 4 }, () => worker());
    await Promise.all([...workers, resync()]);
  } finally {
    signal.removeEventListener("abort", stop);
  }
}
