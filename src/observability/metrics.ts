/**
 * The worker's Prometheus metrics (prom-client), kept in a registry of their
 * own so that tests and several workers in one process never collide on the
 * global one.
 *
 * @module
 */

import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import { TypeHistogram } from "./type_histogram.ts";

/** How a job ends, as the `outcome` label of `jobpool_jobs_processed_total`. */
export const JOB_OUTCOMES = ["succeeded", "retried", "waited", "dead_lettered", "skipped"] as const;

/** How a job ended, as the `outcome` label of `jobpool_jobs_processed_total`. */
export type JobOutcome = typeof JOB_OUTCOMES[number];

/** The per-job metrics of one job type, as numbers. */
interface JobTypeCounts {
  /** A job of the type started (the in-flight gauge shows it from then on). */
  started: boolean;
  inFlight: number;
  /** Jobs finished per outcome (retries and dead letters are outcomes too). */
  readonly outcomes: Record<JobOutcome, number>;
}

function noOutcomes(): Record<JobOutcome, number> {
  return { succeeded: 0, retried: 0, waited: 0, dead_lettered: 0, skipped: 0 };
}

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

  // The per-job metrics are plain numbers per job type, read by prom-client
  // only when scraped (`collect`): its own counters and gauges turn their
  // label object into a key on every call, ~0.45 µs a job for these four.
  const jobs = new Map<string, JobTypeCounts>();
  const countsOf = (type: string): JobTypeCounts => {
    let counts = jobs.get(type);
    if (!counts) {
      counts = { started: false, inFlight: 0, outcomes: noOutcomes() };
      jobs.set(type, counts);
    }
    return counts;
  };
  new Counter({
    name: "jobpool_jobs_processed_total",
    help: "Jobs finished, by job type and outcome",
    labelNames: ["type", "outcome"] as const,
    registers,
    collect() {
      this.reset();
      for (const [type, counts] of jobs) {
        for (const outcome of JOB_OUTCOMES) {
          const count = counts.outcomes[outcome];
          if (count > 0) this.inc({ type, outcome }, count);
        }
      }
    },
  });
  const duration = new TypeHistogram({
    name: "jobpool_job_duration_seconds",
    help: "Time a job's handler ran, by job type",
    buckets: DURATION_BUCKETS,
    registers,
  });
  new Gauge({
    name: "jobpool_jobs_in_flight",
    help: "Jobs running right now, by job type",
    labelNames: ["type"] as const,
    registers,
    collect() {
      for (const [type, counts] of jobs) if (counts.started) this.set({ type }, counts.inFlight);
    },
  });
  new Counter({
    name: "jobpool_job_retries_total",
    help: "Failed attempts that were scheduled for a retry, by job type",
    labelNames: ["type"] as const,
    registers,
    collect() {
      this.reset();
      for (const [type, { outcomes }] of jobs) {
        if (outcomes.retried > 0) this.inc({ type }, outcomes.retried);
      }
    },
  });
  new Counter({
    name: "jobpool_dead_letters_total",
    help: "Jobs sent to the dead-letter topic, by job type",
    labelNames: ["type"] as const,
    registers,
    collect() {
      this.reset();
      for (const [type, { outcomes }] of jobs) {
        if (outcomes.dead_lettered > 0) this.inc({ type }, outcomes.dead_lettered);
      }
    },
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
      const counts = countsOf(type);
      counts.started = true;
      counts.inFlight++;
    },
    jobFinished(type, outcome, seconds) {
      const counts = countsOf(type);
      counts.outcomes[outcome]++;
      if (outcome === "skipped") return;
      counts.inFlight--;
      duration.observe(type, seconds);
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
