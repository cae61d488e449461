/**
 * The worker assembled: the consumer feeds a bounded buffer, the keyed pool
 * runs jobs, the offset tracker says what may be committed, commits go out
 * by interval and count and on rebalance and shutdown.
 *
 * @module
 */

import type { Kafka } from "kafkajs";
import type { Config } from "../config/mod.ts";
import type { PartialJobHandlers } from "../handlers/handler.ts";
import { createKafkaClient } from "../kafka/mod.ts";
import { fetchGroupLag, type LagAdmin } from "../observability/lag.ts";
import { logger } from "../observability/logging.ts";
import type { WorkerMetrics } from "../observability/metrics.ts";
import {
  type ConsumedBatch,
  type ConsumedMessage,
  type ConsumerListener,
  type GroupTimings,
  JobConsumer,
} from "./consumer.ts";
import { DeadLetterPublisher, ensureDeadLetterTopic } from "./dead_letter.ts";
import {
  type DeadLetterSink,
  type JobResult,
  type JobRunnerOptions,
  runJob,
} from "./job_runner.ts";
import { KeyedPool, type PoolTaskContext } from "./keyed_pool.ts";
import {
  OffsetTracker,
  partitionId,
  type PartitionOffsets,
  type TopicPartitionOffset,
} from "./offsets.ts";
import { noopMetrics } from "./noop_metrics.ts";

/** Options of {@linkcode runWorker}. */
export interface WorkerOptions {
  /** Kafka connection and worker settings (`loadConfig`). */
  config: Pick<Config, "kafka" | "worker">;
  /** One handler per job type this worker runs. */
  handlers: PartialJobHandlers;
  /** Where job counts, durations, lag and pool size go. */
  metrics?: WorkerMetrics;
  /** Aborting it stops the worker gracefully, like {@linkcode RunningWorker.stop}. */
  signal?: AbortSignal;
  /** Group membership tuning (session timeout, heartbeats). */
  group?: GroupTimings;
  /** Max attempts by job type pattern. @default config.worker.maxAttemptsByType */
  maxAttemptsByType?: Readonly<Record<string, number>>;
  /** Commit once this many jobs finished, without waiting for the interval. @default 500 */
  commitBatchSize?: number;
  /** Create the dead-letter topic when missing. @default true */
  ensureDeadLetterTopic?: boolean;
  /** How often log ends are read for the lag (fetches alone go stale under back-pressure). @default 5000 */
  lagRefreshMs?: number;
}

/** A started worker. */
export interface RunningWorker {
  /** Joined the group with at least one partition assigned, and not stopping. */
  readonly ready: boolean;
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

/**
 * Connects, creates the dead-letter topic when missing, joins the group and
 * starts running jobs. Resolves once the consumer joined.
 */
export async function runWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { kafka: kafkaConfig, worker } = options.config;
  if (options.ensureDeadLetterTopic ?? true) {
    await ensureDeadLetterTopic({ kafka: kafkaConfig, deadLetterTopic: worker.deadLetterTopic });
  }
  const kafka = createKafkaClient(kafkaConfig, { clientId: `${kafkaConfig.clientId}-worker` });
  return await startWorker(options, kafkaPorts(options, kafka));
}

/** The consumer as the worker drives it (a port, so tests can stand in for Kafka). */
export interface ConsumerPort {
  /** Connects, subscribes and joins the group; resolves once joined. */
  start(): Promise<void>;
  /** Stops fetching every partition (on shutdown). */
  pause(): void;
  /** Stops fetching one partition (a key at its cap in the buffer). */
  pausePartition(topic: string, partition: number): void;
  /** Fetches a paused partition again. */
  resumePartition(topic: string, partition: number): void;
  /** Commits `offsets` with the current group generation. */
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

/** Starts a worker on the given ports; {@linkcode runWorker} passes Kafka's. */
export async function startWorker(
  options: WorkerOptions,
  ports: WorkerPorts,
): Promise<RunningWorker> {
  const instance = new Worker(options, ports);
  await instance.start();
  return instance;
}

function kafkaPorts(options: WorkerOptions, kafka: Kafka): WorkerPorts {
  const { kafka: kafkaConfig, worker } = options.config;
  return {
    consumer: (listener) =>
      new JobConsumer({
        kafka,
        groupId: worker.consumerGroup,
        topic: kafkaConfig.topic,
        fromBeginning: worker.fromBeginning,
        ...options.group,
        listener,
      }),
    deadLetters: new DeadLetterPublisher(kafka, worker.deadLetterTopic),
    admin: kafka.admin(),
  };
}

const log = logger("worker");

interface OwnedPartition {
  topic: string;
  partition: number;
  /** `topic:partition/`, what the pool keys of its messages start with. */
  keyPrefix: string;
  offsets: PartitionOffsets;
  /** Aborted on loss or shutdown: no new job or retry starts. */
  stop: AbortController;
  /** Aborted when running handlers' grace time is over. */
  kill: AbortController;
  highWatermark: number;
  /** The key at its cap in the buffer that paused fetching of this partition. */
  blockedKey?: string | undefined;
  /** Where the group stands before this worker registered anything of it. */
  startOffset?: number;
}

class Worker implements RunningWorker {
  readonly #options: WorkerOptions;
  readonly #settings: Config["worker"];
  readonly #topic: string;
  readonly #metrics: WorkerMetrics;
  readonly #consumer: ConsumerPort;
  readonly #deadLetters: WorkerPorts["deadLetters"];
  readonly #admin: WorkerPorts["admin"];
  readonly #pool: KeyedPool;
  readonly #runner: JobRunnerOptions;
  readonly #tracker = new OffsetTracker();
  readonly #owned = new Map<string, OwnedPartition>();
  readonly #done = Promise.withResolvers<void>();
  readonly #roomWaiters = new Set<() => void>();
  #joins = 0;
  /** Partitions of the topic in the last assignment (0 before joining). */
  #assigned = 0;
  /** Set from a rebalance's drain until the next assignment: nothing new is taken. */
  #revoking: Promise<void> | undefined;
  #alive = true;
  #failure: Error | undefined;
  #stopping: Promise<void> | undefined;
  #commitChain: Promise<void> = Promise.resolve();
  #commitQueued = false;
  #finishedSinceCommit = 0;
  readonly #commitBatchSize: number;
  /** Messages one key may hold in the buffer before its partition pauses. */
  readonly #keyCap: number;
  /** Partitions paused for a key at its cap. */
  #blocked = 0;
  #jobs = 0;
  #jobsTotalMs = 0;
  #commitTimer: ReturnType<typeof setInterval> | undefined;
  #lagTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: WorkerOptions, ports: WorkerPorts) {
    this.#options = options;
    this.#settings = options.config.worker;
    this.#topic = options.config.kafka.topic;
    this.#metrics = options.metrics ?? noopMetrics();
    this.#commitBatchSize = options.commitBatchSize ?? 500;
    this.#keyCap = Math.max(2, Math.floor(this.#settings.bufferSize / 4));
    this.#deadLetters = ports.deadLetters;
    this.#admin = ports.admin;
    this.#pool = new KeyedPool({
      size: this.#settings.poolSize,
      onError: (error) => log.error("Job task failed unexpectedly: {error}", { error }),
      onSettled: () => this.#afterJob(),
    });
    this.#runner = {
      handlers: options.handlers,
      jobTypes: this.#settings.jobTypes,
      retry: {
        maxAttempts: this.#settings.maxAttempts,
        baseMs: this.#settings.retryBaseMs,
        maxMs: this.#settings.retryMaxMs,
        maxAttemptsByType: options.maxAttemptsByType ?? this.#settings.maxAttemptsByType,
      },
      jobTimeoutMs: this.#settings.jobTimeoutMs,
      abortGraceMs: Math.min(this.#settings.shutdownTimeoutMs, 30_000),
      deadLetters: this.#deadLetters,
      metrics: this.#metrics,
    };
    this.#consumer = ports.consumer({
      onBatch: (batch, from) => this.#onBatch(batch, from),
      waitForRoom: (timeoutMs) => this.#waitForRoom(timeoutMs),
      isStopping: () => this.#stopping !== undefined,
      onAssigned: (assignment) => this.#onAssigned(assignment),
      onRevoking: (heartbeat) => this.#onRevoking(heartbeat),
      onRebalancing: () => this.#onRebalancing(),
      onCrash: (error, restart) => this.#onCrash(error, restart),
    });
  }

  get ready(): boolean {
    return this.#assigned > 0 && this.#alive && this.#stopping === undefined;
  }

  get alive(): boolean {
    return this.#alive;
  }

  get poolSize(): number {
    return this.#pool.size;
  }

  get joins(): number {
    return this.#joins;
  }

  get done(): Promise<void> {
    return this.#done.promise;
  }

  resize(size: number): void {
    if (size === this.#pool.size) return;
    this.#pool.resize(size);
    this.#metrics.setPoolSize(size);
    log.info("Pool resized to {size} workers", { size });
  }

  stats(): { jobs: number; totalMs: number } {
    return { jobs: this.#jobs, totalMs: this.#jobsTotalMs };
  }

  lag(): { topic: string; partition: number; lag: number }[] {
    return [...this.#owned.values()].map((owned) => ({
      topic: owned.topic,
      partition: owned.partition,
      lag: partitionLag(owned),
    }));
  }

  async start(): Promise<void> {
    this.#metrics.setPoolSize(this.#pool.size);
    try {
      await this.#deadLetters.connect();
      await this.#admin.connect();
      await this.#consumer.start();
    } catch (error) {
      await this.#consumer.stop().catch(() => {});
      await this.#deadLetters.disconnect().catch(() => {});
      await this.#admin.disconnect().catch(() => {});
      throw error;
    }
    this.#commitTimer = setInterval(() => {
      this.#publishBuffered();
      void this.#commit();
    }, this.#settings.commitIntervalMs);
    this.#lagTimer = setInterval(
      () => void this.#refreshLag(),
      this.#options.lagRefreshMs ?? 5_000,
    );
    const signal = this.#options.signal;
    if (signal?.aborted) this.#stopQuietly();
    signal?.addEventListener("abort", () => this.#stopQuietly(), { once: true });
    log.info("Worker started: group {group}, topic {topic}, {size} workers", {
      group: this.#settings.consumerGroup,
      topic: this.#topic,
      size: this.#pool.size,
    });
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown().then(
      () => this.#failure ? this.#done.reject(this.#failure) : this.#done.resolve(),
      (error) => {
        this.#done.reject(error);
        throw error;
      },
    );
    return this.#stopping;
  }

  /** Stops without a caller to tell: a failure is logged (and `done` rejects). */
  #stopQuietly(): void {
    this.stop().catch((error) => log.error("Stopping failed: {error}", { error }));
  }

  #onBatch(batch: ConsumedBatch, from: number): number {
    if (this.#stopping || this.#revoking) return 0;
    const owned = this.#own(batch.topic, batch.partition);
    owned.highWatermark = Math.max(owned.highWatermark, Number(batch.highWatermark));
    const { messages } = batch;
    const bufferSize = this.#settings.bufferSize;
    let next = from;
    for (; next < messages.length; next++) {
      const message = messages[next]!;
      const offset = Number(message.offset);
      // After a rebalance that kept this partition, kafkajs fetches again
      // from the last commit: what is already here must not run twice.
      if (owned.offsets.has(offset)) continue;
      if (this.#pool.pending >= bufferSize) break;
      owned.offsets.register(offset);
      // A key at its cap (one campaign's backlog behind a retrying job)
      // pauses its own partition only, so it cannot fill the whole buffer.
      const key = this.#keyOf(owned, message);
      if (this.#pool.submit(key, (pool) => this.#process(owned, message, pool)) >= this.#keyCap) {
        next++;
        this.#block(owned, key);
        break;
      }
    }
    this.#metrics.setLag(owned.topic, owned.partition, partitionLag(owned));
    this.#publishBuffered();
    return next - from;
  }

  #waitForRoom(timeoutMs: number): Promise<void> {
    if (this.#hasRoom()) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#roomWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      this.#roomWaiters.add(wake);
    });
  }

  /** Room means half the buffer free, so fetching does not flap at the edge. */
  #hasRoom(): boolean {
    return this.#stopping !== undefined || this.#pool.pending <= this.#settings.bufferSize / 2;
  }

  #keyOf(owned: OwnedPartition, message: ConsumedMessage): string {
    // Keys are scoped to their partition (Kafka orders nothing across
    // partitions) and read as latin1, which maps bytes to text one to one.
    return message.key === null
      ? `${owned.keyPrefix}@${message.offset}`
      : owned.keyPrefix + message.key.toString("latin1");
  }

  #block(owned: OwnedPartition, key: string): void {
    if (owned.blockedKey !== undefined) return;
    owned.blockedKey = key;
    this.#blocked++;
    this.#consumer.pausePartition(owned.topic, owned.partition);
    log.debug("Partition {partition} paused: key at its cap of {cap} buffered messages", {
      partition: owned.partition,
      cap: this.#keyCap,
    });
  }

  /** Resumes partitions whose blocking key went below its cap. */
  #unblock(): void {
    if (this.#stopping) return;
    for (const owned of this.#owned.values()) {
      const key = owned.blockedKey;
      if (key !== undefined && this.#pool.held(key) < this.#keyCap) this.#release(owned);
    }
  }

  #release(owned: OwnedPartition): void {
    owned.blockedKey = undefined;
    this.#blocked--;
    this.#consumer.resumePartition(owned.topic, owned.partition);
  }

  /** The pool's task for one message: the job's end is booked in `onEnd`, without a reaction. */
  #process(
    owned: OwnedPartition,
    message: ConsumedMessage,
    pool: PoolTaskContext,
  ): Promise<unknown> {
    const startedAt = performance.now();
    return runJob(this.#runner, {
      message,
      pool,
      stop: owned.stop.signal,
      kill: owned.kill.signal,
      startedAt,
      onEnd: (result, endedAt, ran) =>
        this.#processed(owned, message, result, ran ? endedAt - startedAt : -1),
    });
  }

  #processed(
    owned: OwnedPartition,
    message: ConsumedMessage,
    result: JobResult,
    /** -1 when no handler ran: only handlers' times make the latency. */
    elapsedMs: number,
  ): void {
    if (elapsedMs >= 0) {
      this.#jobs++;
      this.#jobsTotalMs += elapsedMs;
    }
    if (result !== "finished") return;
    owned.offsets.finish(Number(message.offset));
    if (++this.#finishedSinceCommit >= this.#commitBatchSize) void this.#commit();
  }

  #afterJob(): void {
    if (this.#blocked > 0) this.#unblock();
    if (this.#roomWaiters.size > 0 && this.#hasRoom()) {
      for (const wake of [...this.#roomWaiters]) wake();
    }
  }

  /** The buffered gauge, set per batch and per commit rather than per job. */
  #publishBuffered(): void {
    this.#metrics.setBuffered(this.#pool.pending - this.#pool.active);
  }

  #own(topic: string, partition: number): OwnedPartition {
    const id = partitionId(topic, partition);
    let owned = this.#owned.get(id);
    if (!owned) {
      owned = {
        topic,
        partition,
        keyPrefix: `${id}/`,
        offsets: this.#tracker.partition(topic, partition),
        stop: new AbortController(),
        kill: new AbortController(),
        highWatermark: 0,
      };
      this.#owned.set(id, owned);
    }
    return owned;
  }

  #onAssigned(assignment: Readonly<Record<string, number[]>>): void {
    const partitions = assignment[this.#topic] ?? [];
    const assigned = new Set(partitions.map((p) => partitionId(this.#topic, p)));
    for (const [id, owned] of this.#owned) {
      if (!assigned.has(id)) this.#revoke(id, owned);
    }
    for (const partition of partitions) this.#own(this.#topic, partition);
    this.#joins++;
    this.#assigned = partitions.length;
    this.#revoking = undefined;
    log.info("Joined the group with partitions {partitions}", { partitions });
  }

  #onRevoking(heartbeat: () => Promise<void>): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    this.#revoking ??= this.#drainForRebalance(heartbeat);
    return this.#revoking;
  }

  /**
   * The group waits for this member to re-join, and commits with its
   * generation still count: no job starts any more, running ones get until
   * the rebalance's deadline (`SHUTDOWN_TIMEOUT_MS`, and a margin inside the
   * rebalance timeout), what finished is committed, then every partition is
   * let go like a revoked one (kafkajs's rebalances are eager: the new
   * assignment starts from the commits). Kept partitions are fetched again
   * from there; queued jobs are fetched again rather than run now.
   */
  async #drainForRebalance(heartbeat: () => Promise<void>): Promise<void> {
    const dropped = this.#pool.clearQueued();
    for (const owned of this.#owned.values()) {
      owned.stop.abort(new Error("The group is rebalancing"));
    }
    const rebalanceTimeoutMs = this.#options.group?.rebalanceTimeoutMs ?? 60_000;
    const budgetMs = Math.min(
      this.#settings.shutdownTimeoutMs,
      Math.max(0, rebalanceTimeoutMs - Math.max(1_000, rebalanceTimeoutMs / 5)),
    );
    log.info("The group is rebalancing: waiting up to {budgetMs} ms for {count} running jobs", {
      budgetMs,
      count: this.#pool.active,
    });
    const heartbeatMs = this.#options.group?.heartbeatIntervalMs ?? 3_000;
    const deadline = performance.now() + budgetMs;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      if (await this.#pool.idle(AbortSignal.timeout(Math.min(left, heartbeatMs)))) break;
      // The broker answers REBALANCE_IN_PROGRESS but counts this member alive.
      await heartbeat().catch(() => {});
    }
    await this.#commit();
    for (const [id, owned] of this.#owned) this.#revoke(id, owned);
    log.info("Re-joining the group; {dropped} queued jobs left for redelivery", { dropped });
  }

  /**
   * The partition went to another member: nothing of it is committed any
   * more, queued jobs and retries stop, and running handlers get the
   * shutdown timeout before their signal aborts.
   */
  #revoke(id: string, owned: OwnedPartition): void {
    this.#owned.delete(id);
    // kafkajs keeps a pause across rebalances: a partition coming back must fetch.
    if (owned.blockedKey !== undefined) this.#release(owned);
    this.#tracker.drop(owned.topic, owned.partition);
    owned.stop.abort(new Error(`Partition ${id} was revoked`));
    const timer = setTimeout(
      () => owned.kill.abort(new Error(`Partition ${id} was revoked`)),
      this.#settings.shutdownTimeoutMs,
    );
    Deno.unrefTimer(timer);
    this.#metrics.setLag(owned.topic, owned.partition, 0);
    log.info("Partition {partition} revoked", { partition: owned.partition });
  }

  #onRebalancing(): void {
    // After a drain everything is committed and let go already.
    if (this.#revoking) return;
    // Flush while this member's generation is still the group's: once the
    // new generation forms, the broker refuses commits from the old one.
    log.info("The group is rebalancing: committing finished work");
    void this.#commit();
  }

  #onCrash(error: Error, restart: boolean): void {
    if (restart) {
      log.warn("Consumer crashed and restarts: {error}", { error: error.message });
      return;
    }
    log.error("Consumer crashed for good: {error}", { error: error.message });
    this.#alive = false;
    this.#failure = error;
    this.#stopQuietly();
  }

  #commit(): Promise<void> {
    if (this.#commitQueued) return this.#commitChain;
    this.#commitQueued = true;
    this.#commitChain = this.#commitChain.then(async () => {
      this.#commitQueued = false;
      this.#finishedSinceCommit = 0;
      // Read and sent in one go: the tracker holds owned partitions only.
      const offsets = this.#tracker.committable();
      if (offsets.length === 0) return;
      try {
        await this.#consumer.commit(offsets);
        this.#tracker.markCommitted(offsets);
        log.debug("Committed {offsets}", { offsets });
      } catch (error) {
        log.warn("Commit failed, retrying with the next one: {error}", {
          error: (error as Error).message,
        });
      }
      this.#publishLag();
    });
    return this.#commitChain;
  }

  /** Reads the log ends of owned partitions: while fetching waits, batches bring none. */
  async #refreshLag(): Promise<void> {
    if (this.#owned.size === 0) return;
    try {
      const group = this.#settings.consumerGroup;
      const { partitions } = await fetchGroupLag(this.#admin, group, this.#topic);
      for (const { partition, logEndOffset, currentOffset, logStartOffset } of partitions) {
        const owned = this.#owned.get(partitionId(this.#topic, partition));
        if (!owned) continue;
        owned.highWatermark = Math.max(owned.highWatermark, logEndOffset);
        owned.startOffset = currentOffset ?? logStartOffset;
      }
      this.#publishLag();
    } catch (error) {
      log.debug("Could not read log end offsets: {error}", { error: (error as Error).message });
    }
  }

  #publishLag(): void {
    for (const owned of this.#owned.values()) {
      this.#metrics.setLag(owned.topic, owned.partition, partitionLag(owned));
    }
  }

  async #shutdown(): Promise<void> {
    log.info("Stopping: {count} jobs in flight", { count: this.#pool.active });
    if (this.#joins > 0) this.#consumer.pause();
    for (const wake of [...this.#roomWaiters]) wake();
    const dropped = this.#pool.clearQueued();
    for (const owned of this.#owned.values()) owned.stop.abort(new Error("Worker stopping"));
    const timeout = this.#settings.shutdownTimeoutMs;
    if (!await this.#pool.idle(AbortSignal.timeout(timeout))) {
      log.warn("Jobs still running after {timeout} ms: aborting them", { timeout });
      for (const owned of this.#owned.values()) owned.kill.abort(new Error("Worker stopping"));
      await this.#pool.idle(AbortSignal.timeout(1_000));
    }
    clearInterval(this.#commitTimer);
    clearInterval(this.#lagTimer);
    if (this.#alive) await this.#commit();
    await this.#consumer.stop().catch((error) => log.warn("Disconnect failed: {error}", { error }));
    await this.#deadLetters.disconnect().catch(() => {});
    await this.#admin.disconnect().catch(() => {});
    log.info("Stopped; {dropped} queued jobs left for redelivery", { dropped });
  }
}

function partitionLag(owned: OwnedPartition): number {
  const position = owned.offsets.position ?? owned.startOffset ?? owned.highWatermark;
  return Math.max(0, owned.highWatermark - position);
}
