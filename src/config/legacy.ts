/**
 * The legacy Redis queue (BullMQ) during a migration to Kafka: where each job
 * type is enqueued, how to reach Redis, which queues hold which types, how
 * legacy job names map to job types, and how the legacy worker runs.
 *
 * @module
 */

import { expandJobTypePatterns, isJobType, JOB_TYPES, type JobType } from "../jobs/mod.ts";
import type { EnvReader } from "./env_reader.ts";

/** Where the producer sends a job: Kafka, the BullMQ queue, or both during a cut-over. */
export const JOB_TRANSPORTS = ["kafka", "bullmq", "both"] as const;

/** One of {@linkcode JOB_TRANSPORTS}. */
export type JobTransport = typeof JOB_TRANSPORTS[number];

/** The legacy queue and the routing of job types between it and Kafka. */
export interface LegacyConfig {
  /** Where job types without a rule of their own go. */
  transport: JobTransport;
  /** Transport by job type pattern (`job.email.*` or a type); the first match wins. */
  transportByType: Record<string, JobTransport>;
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  redisUrl: string;
  /** BullMQ's key prefix. */
  prefix: string;
  /** The queue job types without a queue of their own go to. */
  queue: string;
  /** Queue by job type pattern; the first match wins. */
  queueByType: Record<string, string>;
  /** Legacy job names that are not job types, mapped to the type they mean. */
  jobNames: Record<string, JobType>;
  /** Jobs the legacy worker runs at once, per queue. */
  concurrency: number;
  /** Times a job may be recovered after its worker died before BullMQ fails it. */
  maxStalledCount: number;
  /** Completed jobs kept in Redis per queue (BullMQ's `removeOnComplete`). */
  keepCompleted: number;
}

/** `BULLMQ_REDIS_URL` when unset: a local Redis. */
export const DEFAULT_REDIS_URL = "redis://localhost:6379";

/**
 * Reads `JOB_TRANSPORT`, `JOB_TRANSPORT_BY_TYPE` (`pattern=transport,…`),
 * `BULLMQ_REDIS_URL`, `BULLMQ_PREFIX`, `BULLMQ_QUEUE`, `BULLMQ_QUEUE_BY_TYPE`
 * (`pattern=queue,…`), `BULLMQ_JOB_NAMES` (`name=type,…`),
 * `BULLMQ_WORKER_CONCURRENCY`, `BULLMQ_MAX_STALLED_COUNT` and
 * `BULLMQ_KEEP_COMPLETED`.
 */
export function readLegacyConfig(env: EnvReader): LegacyConfig {
  const queue = env.string("BULLMQ_QUEUE", "jobs");
  checkQueueName(env, "BULLMQ_QUEUE", queue);
  const prefix = env.string("BULLMQ_PREFIX", "bull");
  if (prefix.includes(":")) env.problem("BULLMQ_PREFIX", `must not contain ":", got "${prefix}"`);
  return {
    transport: env.oneOf("JOB_TRANSPORT", JOB_TRANSPORTS, "kafka"),
    transportByType: byType(env, "JOB_TRANSPORT_BY_TYPE", {
      parse: (value) => JOB_TRANSPORTS.find((transport) => transport === value.toLowerCase()),
      expected: `one of ${JOB_TRANSPORTS.join(", ")}`,
    }),
    redisUrl: env.url("BULLMQ_REDIS_URL", ["redis", "rediss"], DEFAULT_REDIS_URL),
    prefix,
    queue,
    queueByType: byType(env, "BULLMQ_QUEUE_BY_TYPE", {
      parse: (value) => QUEUE_NAME.test(value) ? value : undefined,
      expected: `a queue name (${QUEUE_NAME.source})`,
    }),
    jobNames: readJobNames(env),
    concurrency: env.int("BULLMQ_WORKER_CONCURRENCY", 10, { min: 1, max: 10_000 }),
    maxStalledCount: env.int("BULLMQ_MAX_STALLED_COUNT", 5, { min: 0, max: 1_000 }),
    keepCompleted: env.int("BULLMQ_KEEP_COMPLETED", 1_000, { min: 0 }),
  };
}

/** Queue names BullMQ keys can hold without surprises. */
const QUEUE_NAME = /^[A-Za-z0-9._-]{1,200}$/;

function checkQueueName(env: EnvReader, variable: string, name: string): void {
  if (!QUEUE_NAME.test(name)) {
    env.problem(variable, `must be a queue name (${QUEUE_NAME.source}), got "${name}"`);
  }
}

/**
 * Reads `pattern=value,…` where each pattern must match a job type and
 * `rule.parse` accepts each value (undefined: not `rule.expected`).
 */
function byType<T extends string>(
  env: EnvReader,
  variable: string,
  rule: { parse: (value: string) => T | undefined; expected: string },
): Record<string, T> {
  const result: Record<string, T> = {};
  for (const entry of env.list(variable, [])) {
    const [pattern = "", value = ""] = entry.split("=").map((part) => part.trim());
    if (expandJobTypePatterns([pattern]).length === 0) {
      env.problem(
        variable,
        `"${pattern}" matches no job type; known types: ${JOB_TYPES.join(", ")}`,
      );
      continue;
    }
    const parsed = rule.parse(value);
    if (parsed === undefined) {
      env.problem(variable, `"${pattern}": expected ${rule.expected}, got "${value}"`);
    } else result[pattern] = parsed;
  }
  return result;
}

function readJobNames(env: EnvReader): Record<string, JobType> {
  const variable = "BULLMQ_JOB_NAMES";
  const result: Record<string, JobType> = {};
  for (const entry of env.list(variable, [])) {
    const [name = "", type = ""] = entry.split("=").map((part) => part.trim());
    if (!name) env.problem(variable, `"${entry}" has no legacy job name before "="`);
    else if (!isJobType(type)) {
      env.problem(
        variable,
        `"${name}" maps to unknown job type "${type}"; known types: ${JOB_TYPES.join(", ")}`,
      );
    } else result[name] = type;
  }
  return result;
}
