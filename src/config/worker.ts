/**
 * How the worker consumes and runs jobs: group, pool size, which types,
 * retries, dead letters, deadlines and shutdown.
 *
 * @module
 */

import {
  DEFAULT_MAX_CLOCK_SKEW_MS,
  expandJobTypePatterns,
  JOB_TYPES,
  type JobType,
} from "../jobs/mod.ts";
import type { EnvReader } from "./env_reader.ts";

/** `JOB_TIMEOUT_MS` when unset: a job running longer is aborted. */
export const DEFAULT_JOB_TIMEOUT_MS = 300_000;

/**
 * `KAFKA_FETCH_MAX_BYTES` when unset: 1 MiB, not kafkajs's 10 MiB. kafkajs
 * decodes a whole fetch response before it hands a message over, so this
 * bounds the fetched messages held in memory. `bench:worker`'s 200,000-job
 * flood peaks at about 210 MB RSS with 1 MiB and 275 MB with 4 MiB, where
 * fewer fetches cost about 6 % less CPU per no-op job.
 */
export const DEFAULT_FETCH_MAX_BYTES = 1024 * 1024;

/**
 * `KAFKA_WORKER_BUFFER_SIZE` when unset: 100 messages per worker of the
 * largest pool, at least 1,000. A key holds a quarter of the buffer at most,
 * so the pool fills only when the buffer holds as many keys as it has
 * workers: with 4 per worker (the earlier default), a topic whose keys come
 * in runs of 100 kept 6 of 100 workers busy (`bench:worker`). Memory is
 * bounded in bytes by {@linkcode DEFAULT_BUFFER_BYTES}.
 */
export function defaultBufferSize(poolMax: number): number {
  return Math.max(1_000, poolMax * 100);
}

/**
 * `KAFKA_WORKER_BUFFER_BYTES` when unset: 16 MiB of message keys and values
 * held (runnable jobs, and waiting ones, each), whatever the count.
 */
export const DEFAULT_BUFFER_BYTES = 16 * 1024 * 1024;

/** Worker pool settings. */
export interface WorkerConfig {
  /** The consumer group all workers of one pool share. */
  consumerGroup: string;
  /** Concurrent jobs per process; the start size in adaptive mode. */
  poolSize: number;
  /** Adaptive mode bounds; fixed size when `min === max`. */
  poolMin: number;
  /** Adaptive mode bounds; fixed size when `min === max`. */
  poolMax: number;
  /** Fetched messages held in memory; fetching pauses when full. */
  bufferSize: number;
  /** Bytes of fetched messages (keys and values) held in memory; fetching pauses when full. */
  bufferBytes: number;
  /** Cap on one fetch response, in bytes. */
  fetchMaxBytes: number;
  /** Job types this worker handles; others are skipped and committed. */
  jobTypes: JobType[];
  /** Where failed jobs go after their last attempt. */
  deadLetterTopic: string;
  /** Attempts per job before dead-lettering, by default. */
  maxAttempts: number;
  /** Attempts by job type pattern (`job.email.*` or a type), over `maxAttempts`. */
  maxAttemptsByType: Record<string, number>;
  /** First retry delay; doubles per attempt, with jitter. */
  retryBaseMs: number;
  /** Cap on one retry delay. */
  retryMaxMs: number;
  /** A job running longer than this is aborted and counts as failed. */
  jobTimeoutMs: number;
  /** Time in-flight jobs get to finish on shutdown or partition loss. */
  shutdownTimeoutMs: number;
  /** Commit at least this often while work finishes. */
  commitIntervalMs: number;
  /** Where a new group starts: `earliest` or `latest`. */
  fromBeginning: boolean;
  /** Outage failures in a row that open a dependency's circuit breaker. */
  dependencyFailureThreshold: number;
  /** The longest pause between two probes of a dependency that is down. */
  dependencyProbeMaxMs: number;
  /** How far in the future an event's timestamp may lie before it is invalid. */
  maxClockSkewMs: number;
}

/**
 * Reads `KAFKA_JOB_CONSUMER_GROUP`, `KAFKA_WORKER_POOL_SIZE`,
 * `KAFKA_WORKER_POOL_MIN`, `KAFKA_WORKER_POOL_MAX`, `KAFKA_WORKER_BUFFER_SIZE`,
 * `KAFKA_WORKER_BUFFER_BYTES`, `KAFKA_FETCH_MAX_BYTES`,
 * `KAFKA_JOB_TYPES`, `KAFKA_DLQ_TOPIC`, `JOB_MAX_ATTEMPTS`, `JOB_MAX_ATTEMPTS_BY_TYPE`
 * (`pattern=attempts,…`, e.g. `job.email.*=3,job.reward.deliver=8`), `JOB_RETRY_BASE_MS`,
 * `JOB_RETRY_MAX_MS`, `JOB_TIMEOUT_MS`, `SHUTDOWN_TIMEOUT_MS`,
 * `KAFKA_COMMIT_INTERVAL_MS`, `KAFKA_OFFSET_RESET`, `DEPENDENCY_FAILURE_THRESHOLD`,
 * `DEPENDENCY_PROBE_MAX_MS` and `MAX_CLOCK_SKEW_MS`.
 */
export function readWorkerConfig(env: EnvReader, topic: string): WorkerConfig {
  const poolSize = env.int("KAFKA_WORKER_POOL_SIZE", 10, { min: 1, max: 10_000 });
  const poolMin = env.int("KAFKA_WORKER_POOL_MIN", poolSize, { min: 1, max: 10_000 });
  const poolMax = env.int("KAFKA_WORKER_POOL_MAX", Math.max(poolSize, poolMin), {
    min: 1,
    max: 10_000,
  });
  if (poolMin > poolMax) {
    env.problem("KAFKA_WORKER_POOL_MIN", `must be <= KAFKA_WORKER_POOL_MAX (${poolMax})`);
  }
  const patterns = env.list("KAFKA_JOB_TYPES", ["*"]);
  const jobTypes = expandJobTypePatterns(patterns);
  for (const pattern of patterns) {
    if (expandJobTypePatterns([pattern]).length === 0) {
      env.problem(
        "KAFKA_JOB_TYPES",
        `"${pattern}" matches no job type; known types: ${JOB_TYPES.join(", ")}`,
      );
    }
  }
  const offsetReset = env.oneOf("KAFKA_OFFSET_RESET", ["earliest", "latest"] as const, "earliest");
  return {
    consumerGroup: env.string("KAFKA_JOB_CONSUMER_GROUP", "job-workers"),
    poolSize: Math.min(Math.max(poolSize, poolMin), poolMax),
    poolMin,
    poolMax,
    bufferSize: env.int("KAFKA_WORKER_BUFFER_SIZE", defaultBufferSize(poolMax), { min: 1 }),
    bufferBytes: env.int("KAFKA_WORKER_BUFFER_BYTES", DEFAULT_BUFFER_BYTES, { min: 1024 }),
    fetchMaxBytes: env.int("KAFKA_FETCH_MAX_BYTES", DEFAULT_FETCH_MAX_BYTES, {
      min: 1024,
      max: 256 * 1024 * 1024,
    }),
    jobTypes,
    deadLetterTopic: env.string("KAFKA_DLQ_TOPIC", `${topic}.dlq`),
    maxAttempts: env.int("JOB_MAX_ATTEMPTS", 10, { min: 1, max: 100 }),
    maxAttemptsByType: readAttemptsByType(env),
    retryBaseMs: env.int("JOB_RETRY_BASE_MS", 1_000, { min: 0 }),
    retryMaxMs: env.int("JOB_RETRY_MAX_MS", 300_000, { min: 0 }),
    jobTimeoutMs: env.int("JOB_TIMEOUT_MS", DEFAULT_JOB_TIMEOUT_MS, { min: 1 }),
    shutdownTimeoutMs: env.int("SHUTDOWN_TIMEOUT_MS", 30_000, { min: 0 }),
    commitIntervalMs: env.int("KAFKA_COMMIT_INTERVAL_MS", 1_000, { min: 10 }),
    fromBeginning: offsetReset === "earliest",
    dependencyFailureThreshold: env.int("DEPENDENCY_FAILURE_THRESHOLD", 3, { min: 1, max: 1_000 }),
    dependencyProbeMaxMs: env.int("DEPENDENCY_PROBE_MAX_MS", 2_000, { min: 100 }),
    maxClockSkewMs: env.int("MAX_CLOCK_SKEW_MS", DEFAULT_MAX_CLOCK_SKEW_MS, { min: 0 }),
  };
}

function readAttemptsByType(env: EnvReader): Record<string, number> {
  const variable = "JOB_MAX_ATTEMPTS_BY_TYPE";
  const result: Record<string, number> = {};
  for (const entry of env.list(variable, [])) {
    const [pattern = "", attempts = ""] = entry.split("=").map((part) => part.trim());
    const value = Number(attempts);
    if (expandJobTypePatterns([pattern]).length === 0) {
      env.problem(
        variable,
        `"${pattern}" matches no job type; known types: ${JOB_TYPES.join(", ")}`,
      );
    } else if (!/^\d+$/.test(attempts) || value < 1 || value > 100) {
      env.problem(variable, `attempts of "${pattern}" must be an integer 1-100, got "${attempts}"`);
    } else {
      result[pattern] = value;
    }
  }
  return result;
}
