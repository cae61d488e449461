/**
 * What the worker is given and what it gives back: its options, the started
 * worker's face ({@linkcode RunningWorker}), and the ports through which it
 * talks to Kafka (so unit tests can stand in for the broker).
 *
 * @module
 */

import type { Config } from "../config/mod.ts";
import type { PartialJobHandlers } from "../handlers/handler.ts";
import type { LagAdmin } from "../observability/lag.ts";
import type { WorkerMetrics } from "../observability/metrics.ts";
import type { ConsumerListener, GroupTimings } from "./consumer.ts";
import type { DeadLetterSink } from "./job_runner.ts";
import type { TopicPartitionOffset } from "./offsets.ts";

/** Options of {@linkcode runWorker}. */
export interface WorkerOptions {
  /** Kafka connection and worker settings (`loadConfig`). */
  config: Pick<Config, "kafka" | "worker">;
  /** One handler per job type this worker runs. */
  handlers: PartialJobHandlers;
  /** Where job counts, durations, lag, pool size and dependency states go. */
  metrics?: WorkerMetrics;
  /** Aborting it stops the worker gracefully, like {@linkcode RunningWorker.stop}. */
  signal?: AbortSignal;
  /** Group membership tuning (session timeout, heartbeats, fetch wait). */
  group?: GroupTimings;
  /** Max attempts by job type pattern. @default config.worker.maxAttemptsByType */
  maxAttemptsByType?: Readonly<Record<string, number>>;
  /** Commit once this many jobs finished, without waiting for the interval. @default 500 */
  commitBatchSize?: number;
  /** Create the dead-letter topic when missing. @default true */
  ensureDeadLetterTopic?: boolean;
  /** How often the group's lag is read from the broker. @default 5000 */
  lagRefreshMs?: number;
}

/** A started worker. */
export interface RunningWorker {
  /**
   * Joined the group with at least one partition assigned, not stopping, and
   * every dependency its jobs need available.
   */
  readonly ready: boolean;
  /** Why the worker is not ready, or `ok`. */
  readonly readiness: string;
  /** False once the consumer crashed for good. */
  readonly alive: boolean;
  /** Concurrent job slots right now. */
  readonly poolSize: number;
  /** Times this member joined the group: 1 until a rebalance happens. */
  readonly joins: number;
  /**
   * Jobs whose handler ran, to their end (finished or abandoned), and their
   * total time, since start; skipped and undecodable jobs do not count.
   */
  stats(): { jobs: number; totalMs: number };
  /** Changes the number of concurrent job slots (adaptive mode). */
  resize(size: number): void;
  /** Lag per owned partition: log end minus the first unfinished offset. */
  lag(): { topic: string; partition: number; lag: number }[];
  /**
   * Stops fetching, lets running jobs finish within `shutdownTimeoutMs`
   * (then aborts them), commits, leaves the group. Idempotent.
   */
  stop(): Promise<void>;
  /** Settles when the worker stopped: rejects when it died of an error. */
  readonly done: Promise<void>;
}

/** The consumer as the worker drives it (a port, so tests can stand in for Kafka). */
export interface ConsumerPort {
  /** Connects, subscribes and joins the group; resolves once joined. */
  start(): Promise<void>;
  /** Stops fetching every partition (on shutdown). */
  pause(): void;
  /** Stops fetching one partition. */
  pausePartition(topic: string, partition: number): void;
  /** Fetches a paused partition again. */
  resumePartition(topic: string, partition: number): void;
  /** The next fetch of the partition starts at `offset`. */
  seek(topic: string, partition: number, offset: number): void;
  /** Commits `offsets`; resolves only once the broker acknowledged them. */
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** Leaves the group and disconnects. */
  stop(): Promise<void>;
}

/** What the worker talks to outside the process. */
export interface WorkerPorts {
  /** Builds the consumer that reports to `listener`. */
  consumer(listener: ConsumerListener): ConsumerPort;
  /** Where dead letters go. */
  deadLetters: DeadLetterSink & Connectable;
  /** Reads log end and committed offsets for the lag. */
  admin: LagAdmin & Connectable;
}

/** A port that connects before the worker starts and disconnects as it stops. */
export interface Connectable {
  /** Opens the connection. */
  connect(): Promise<void>;
  /** Closes the connection. */
  disconnect(): Promise<void>;
}
