/**
 * The job worker: consumes job events, runs them in a bounded pool with
 * per-key order, retries, dead-letters, and commits only finished work.
 * `main.ts` runs it as `deno task worker`.
 *
 * @module
 */

export { runWorker, startWorker } from "./worker.ts";
export type {
  Connectable,
  ConsumerPort,
  RunningWorker,
  WorkerOptions,
  WorkerPorts,
} from "./ports.ts";
export {
  CommitNotAcknowledgedError,
  type ConsumedBatch,
  type ConsumedMessage,
  type ConsumerListener,
  DEFAULT_GROUP_TIMINGS,
  type GroupTimings,
} from "./consumer.ts";
export {
  type DeadLetterSink,
  type JobItem,
  type JobResult,
  type JobRunnerOptions,
  runJob,
} from "./job_runner.ts";
export {
  DEAD_LETTER_HEADERS,
  deadLetterHeaders,
  type DeadLetterReason,
  ensureDeadLetterTopic,
  type EnsureDeadLetterTopicOptions,
  type OriginalMessage,
} from "./dead_letter.ts";
export {
  backoffDelay,
  decideRetry,
  type FailedAttempt,
  JobTimeoutError,
  maxAttemptsFor,
  type RetryDecision,
  type RetryPolicy,
  UnhandledJobTypeError,
} from "./retry.ts";
export { KeyedPool, type KeyedPoolOptions, type PoolTaskContext } from "./keyed_pool.ts";
export {
  type Admission,
  type BreakerChange,
  type BreakerOptions,
  type BreakerState,
  DependencyBreakers,
  type FailureCount,
} from "./breakers.ts";
export { PartitionOffsets, type TopicPartitionOffset } from "./offsets.ts";
export { noopMetrics } from "./noop_metrics.ts";
export { installShutdownSignals, type ShutdownSignalsOptions } from "./shutdown.ts";
export {
  type AdaptivePoolOptions,
  nextPoolSize,
  type PoolSample,
  startAdaptivePool,
} from "./adaptive.ts";
