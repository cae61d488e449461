/**
 * The worker's Prometheus metrics (prom-client), kept in a registry of their
 * own so that tests and several workers in one process never collide on the
 * global one.
 *
 * @module
 */

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** How a job ended, as the `outcome` label of `jobpool_jobs_processed_total`. */
export type JobOutcome = "succeeded" | "retried" | "waited" | "dead_lettered" | "skipped";

/** The metrics the worker updates as jobs run. */
export interface WorkerMetrics {
  /** The registry holding every jobpool metric and the default process metrics. */
  readonly registry: Registry;
  /** A job of `type` started: the in-flight gauge goes up by one. */
  jobStarted(type: string): void;
  /**
   * A job of `type` ended with `outcome` after `seconds`. Skipped jobs never
   * started, so they touch neither the in-flight gauge nor the histogram.
   */
  jobFinished(type: string, outcome: JobOutcome, seconds: number): void;
  /** The pool's current number of concurrent workers. */
  setPoolSize(size: number): void;
  /** Fetched messages waiting in the buffer. */
  setBuffered(count: number): void;
  /** Messages behind the log end on one partition. */
  setLag(topic: string, partition: number, lag: number): void;
  /** Whether a dependency's circuit breaker is closed (1) or not (0). */
  setDependencyUp(dependency: string, up: boolean): void;
  /** A dependency's breaker opened: one more outage. */
  dependencyOutage(dependency: string): void;
  /** An email of `kind` was sent although an earlier send's outcome was unknown. */
  emailPossibleDuplicate(kind: string): void;
}

/** Job durations span a few milliseconds (no-op) to minutes (bulk email). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** Creates the worker's metrics in a fresh registry with the default process metrics. */
export function createWorkerMetrics(): WorkerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const processed = new Counter({
    name: "jobpool_jobs_processed_total",
    help: "Jobs finished, by job type and outcome",
    labelNames: ["type", "outcome"] as const,
    registers,
  });
  const duration = new Histogram({
    name: "jobpool_job_duration_seconds",
    help: "Time a job's handler ran, by job type",
    labelNames: ["type"] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const inFlight = new Gauge({
    name: "jobpool_jobs_in_flight",
    help: "Jobs running right now, by job type",
    labelNames: ["type"] as const,
    registers,
  });
  const retries = new Counter({
    name: "jobpool_job_retries_total",
    help: "Failed attempts that were scheduled for a retry, by job type",
    labelNames: ["type"] as const,
    registers,
  });
  const deadLetters = new Counter({
    name: "jobpool_dead_letters_total",
    help: "Jobs sent to the dead-letter topic, by job type",
    labelNames: ["type"] as const,
    registers,
  });
  const poolSize = new Gauge({
    name: "jobpool_worker_pool_size",
    help: "Concurrent workers of this process's pool",
    registers,
  });
  const buffered = new Gauge({
    name: "jobpool_worker_buffered_messages",
    help: "Fetched messages waiting for a free worker",
    registers,
  });
  const lag = new Gauge({
    name: "jobpool_consumer_lag",
    help: "Messages between the group's committed offset and the log end, by partition",
    labelNames: ["topic", "partition"] as const,
    registers,
  });

  const dependencyUp = new Gauge({
    name: "jobpool_dependency_up",
    help: "1 while a dependency's circuit breaker is closed, 0 while jobs wait for it",
    labelNames: ["dependency"] as const,
    registers,
  });
  const outages = new Counter({
    name: "jobpool_dependency_outages_total",
    help: "Times a dependency's circuit breaker opened",
    labelNames: ["dependency"] as const,
    registers,
  });

  const possibleDuplicates = new Counter({
    name: "jobpool_email_possible_duplicates_total",
    help: "Emails sent although an earlier send of the same key may have gone out, by kind",
    labelNames: ["kind"] as const,
    registers,
  });

  return {
    registry,
    jobStarted(type) {
      inFlight.inc({ type });
    },
    jobFinished(type, outcome, seconds) {
      processed.inc({ type, outcome });
      if (outcome === "skipped") return;
      inFlight.dec({ type });
      duration.observe({ type }, seconds);
      if (outcome === "retried") retries.inc({ type });
      else if (outcome === "dead_lettered") deadLetters.inc({ type });
    },
    setPoolSize(size) {
      poolSize.set(size);
    },
    setBuffered(count) {
      buffered.set(count);
    },
    setLag(topic, partition, value) {
      lag.set({ topic, partition: String(partition) }, value);
    },
    setDependencyUp(dependency, up) {
      dependencyUp.set({ dependency }, up ? 1 : 0);
    },
    dependencyOutage(dependency) {
      outages.inc({ dependency });
    },
    emailPossibleDuplicate(kind) {
      possibleDuplicates.inc({ kind });
    },
  };
}
