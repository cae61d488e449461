/**
 * The worker assembled. The consumer hands fetched batches to intake
 * (`intake.ts`), which takes messages into the keyed pool or defers them;
 * the pool runs each job (`job_runner.ts`) and hands it back here when it
 * ended — one channel, {@linkcode Worker}'s `#jobEnded`, where finished
 * offsets are booked for the committer (`commits.ts`), deferred keys are
 * rewound and fetching is woken. Group membership (assignments, rebalances,
 * crashes) is handled here too: partitions are owned by `OwnedPartition`s
 * that outlive a re-join when nobody else worked on them meanwhile.
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
import { type BreakerChange, DependencyBreakers } from "./breakers.ts";
import { Committer } from "./commits.ts";
import {
  type ConsumedBatch,
  type ConsumerListener,
  DEFAULT_GROUP_TIMINGS,
  type GroupTimings,
  JobConsumer,
} from "./consumer.ts";
import { DeadLetterPublisher, ensureDeadLetterTopic } from "./dead_letter.ts";
import { type DeadLetterSink, type JobRunnerOptions, runJob } from "./job_runner.ts";
import { Intake, OwnedPartition, type WorkerJob } from "./intake.ts";
import { KeyedPool } from "./keyed_pool.ts";
import { partitionId, type TopicPartitionOffset } from "./offsets.ts";
import { noopMetrics } from "./noop_metrics.ts";

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
    admin: kafka.admin({ retry: { retries: 2 } }),
  };
}

const log = logger("worker");

class Worker implements RunningWorker {
  readonly #options: WorkerOptions;
  readonly #settings: Config["worker"];
  readonly #topic: string;
  readonly #metrics: WorkerMetrics;
  readonly #consumer: ConsumerPort;
  readonly #deadLetters: WorkerPorts["deadLetters"];
  readonly #admin: WorkerPorts["admin"];
  readonly #pool: KeyedPool<WorkerJob>;
  readonly #intake: Intake;
  readonly #breakers: DependencyBreakers;
  readonly #committer: Committer;
  readonly #owned = new Map<string, OwnedPartition>();
  readonly #done = Promise.withResolvers<void>();
  readonly #roomWaiters = new Set<() => void>();
  #joins = 0;
  /** Partitions of the topic in the last assignment (0 before joining). */
  #assigned = 0;
  /** Set from a rebalance's drain until the next assignment: nothing new is taken. */
  #revoking: Promise<void> | undefined;
  /** Set while a new assignment is checked against the group's commits. */
  #validating: Promise<void> | undefined;
  /** Consumer restarts since the last join (kafkajs restarts after broker errors). */
  #restarts = 0;
  #alive = true;
  #failure: Error | undefined;
  #stopping: Promise<void> | undefined;
  #jobs = 0;
  #jobsTotalMs = 0;
  #lagTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: WorkerOptions, ports: WorkerPorts) {
    this.#options = options;
    this.#settings = options.config.worker;
    this.#topic = options.config.kafka.topic;
    this.#metrics = options.metrics ?? noopMetrics();
    this.#deadLetters = ports.deadLetters;
    this.#admin = ports.admin;
    const settings = this.#settings;
    this.#breakers = new DependencyBreakers({
      failureThreshold: settings.dependencyFailureThreshold,
      probeIntervalMaxMs: settings.dependencyProbeMaxMs,
      onChange: (change) => this.#dependencyChanged(change),
    });
    const runner: JobRunnerOptions = {
      handlers: options.handlers,
      jobTypes: settings.jobTypes,
      retry: {
        maxAttempts: settings.maxAttempts,
        baseMs: settings.retryBaseMs,
        maxMs: settings.retryMaxMs,
        maxAttemptsByType: options.maxAttemptsByType ?? settings.maxAttemptsByType,
      },
      jobTimeoutMs: settings.jobTimeoutMs,
      abortGraceMs: Math.min(settings.shutdownTimeoutMs, 30_000),
      deadLetters: this.#deadLetters,
      metrics: this.#metrics,
      breakers: this.#breakers,
      validate: { maxClockSkewMs: settings.maxClockSkewMs },
    };
    this.#pool = new KeyedPool<WorkerJob>({
      size: settings.poolSize,
      run: (job, context) => runJob(runner, job, context),
      onSettled: (job) => this.#jobEnded(job),
      onWaiting: (key) => this.#intake.keyWaiting(key),
      onError: (error) => log.error("Job task failed unexpectedly: {error}", { error }),
    });
    this.#consumer = ports.consumer({
      onBatch: (batch, from) => this.#onBatch(batch, from),
      waitForRoom: (timeoutMs) => this.#waitForRoom(timeoutMs),
      isStopping: () => this.#stopping !== undefined,
      onAssigned: (assignment) => this.#onAssigned(assignment),
      onRevoking: (heartbeat) => this.#onRevoking(heartbeat),
      onRebalancing: () => this.#onRebalancing(),
      onCrash: (error, restart) => this.#onCrash(error, restart),
    });
    this.#intake = new Intake({
      pool: this.#pool,
      consumer: this.#consumer,
      bufferSize: settings.bufferSize,
      keyCap: Math.max(2, Math.floor(settings.bufferSize / 4)),
      deferLimit: settings.bufferSize * 10,
      maxWaiting: settings.bufferSize,
    });
    this.#committer = new Committer({
      commit: (offsets) => this.#consumer.commit(offsets),
      owned: () => this.#owned.values(),
      intervalMs: settings.commitIntervalMs,
      batchSize: options.commitBatchSize ?? 500,
      onCommitted: (owner, offset) => {
        this.#metrics.setLag(owner.topic, owner.partition, owner.highWatermark - offset);
      },
    });
  }

  get ready(): boolean {
    return this.readiness === "ok";
  }

  get readiness(): string {
    if (!this.#alive) return "the consumer crashed";
    if (this.#stopping) return "stopping";
    if (this.#assigned === 0) return "not joined or no partition assigned";
    const down = this.#breakers.unavailable();
    if (down.length > 0) return `waiting for ${down.join(", ")} (unavailable)`;
    return "ok";
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
    return [...this.#owned.values()].map((owner) => {
      const position = owner.offsets.position ?? owner.highWatermark;
      return {
        topic: owner.topic,
        partition: owner.partition,
        lag: Math.max(0, owner.highWatermark - position),
      };
    });
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
      this.#breakers.close();
      throw error;
    }
    this.#committer.start();
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
    if (this.#stopping || this.#revoking || this.#validating) return 0;
    const owner = this.#own(batch.topic, batch.partition);
    owner.highWatermark = Math.max(owner.highWatermark, Number(batch.highWatermark));
    const accepted = this.#intake.offer(owner, batch, from);
    this.#metrics.setBuffered(this.#pool.pending - this.#pool.active);
    return accepted;
  }

  /**
   * The one place a job's end arrives: its time is counted, a finished
   * offset is booked for the committer, an abandoned job of a partition still
   * owned is deferred (fetched again), and its key may take messages again.
   */
  #jobEnded(job: WorkerJob): void {
    if (job.handlerMs >= 0) {
      this.#jobs++;
      this.#jobsTotalMs += job.handlerMs;
    }
    const owner = job.owner;
    const current = this.#owned.get(owner.id) === owner;
    if (current && job.result === "finished") {
      owner.offsets.finish(job.offset);
      this.#committer.finished();
    } else if (current) {
      owner.defer(job.key, job.offset);
    }
    if (current && !this.#revoking) this.#intake.jobEnded(owner, job.key);
    if (this.#roomWaiters.size > 0 && this.#hasRoom()) this.#wakeRoomWaiters();
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

  #hasRoom(): boolean {
    if (this.#stopping) return true;
    return this.#validating === undefined && this.#intake.hasRoom();
  }

  #wakeRoomWaiters(): void {
    for (const wake of [...this.#roomWaiters]) wake();
  }

  #own(topic: string, partition: number): OwnedPartition {
    const id = partitionId(topic, partition);
    let owner = this.#owned.get(id);
    if (!owner) {
      owner = new OwnedPartition(topic, partition);
      this.#owned.set(id, owner);
    }
    return owner;
  }

  #onAssigned(assignment: Readonly<Record<string, number[]>>): void {
    const partitions = assignment[this.#topic] ?? [];
    const assigned = new Set(partitions.map((p) => partitionId(this.#topic, p)));
    const kept: OwnedPartition[] = [];
    for (const [id, owner] of this.#owned) {
      if (!assigned.has(id)) this.#revoke(owner);
      else kept.push(owner);
    }
    for (const partition of partitions) this.#own(this.#topic, partition);
    this.#joins++;
    this.#assigned = partitions.length;
    this.#revoking = undefined;
    if (this.#restarts > 0) {
      log.info("Consumer re-joined the group after {restarts} restarts", {
        restarts: this.#restarts,
      });
      this.#restarts = 0;
    }
    log.info("Joined the group with partitions {partitions}", { partitions });
    if (kept.length > 0) {
      this.#validating = this.#validateKept(kept).finally(() => {
        this.#validating = undefined;
        this.#wakeRoomWaiters();
      });
    }
  }

  /**
   * Partitions kept across a re-join keep what this worker knows of them
   * (finished offsets not yet committed, deferred messages) unless the group
   * committed past it meanwhile: then another member worked on them, and
   * they start afresh from the group's commit.
   */
  async #validateKept(kept: OwnedPartition[]): Promise<void> {
    let committed: Map<number, number> | undefined;
    try {
      const { partitions } = await fetchGroupLag(
        this.#admin,
        this.#settings.consumerGroup,
        this.#topic,
      );
      committed = new Map(partitions.map((p) => [p.partition, p.currentOffset ?? -1]));
    } catch (error) {
      log.warn("Cannot read the group's commits after re-joining: starting afresh: {error}", {
        error: (error as Error).message,
      });
    }
    for (const owner of kept) {
      if (this.#owned.get(owner.id) !== owner) continue;
      const groupCommit = committed?.get(owner.partition);
      const known = owner.offsets.committed ?? owner.offsets.first ?? -1;
      if (groupCommit !== undefined && groupCommit <= known) {
        owner.renew();
        continue;
      }
      this.#revoke(owner);
      this.#own(owner.topic, owner.partition);
    }
  }

  #onRevoking(heartbeat: () => Promise<void>): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    this.#revoking ??= this.#drainForRebalance(heartbeat);
    return this.#revoking;
  }

  /**
   * The group waits for this member to re-join, and commits with its
   * generation still count: queued jobs leave memory (deferred), no attempt
   * starts any more, running ones get until the rebalance's deadline
   * (`SHUTDOWN_TIMEOUT_MS`, and a margin inside the rebalance timeout), what
   * finished is committed. Partitions kept in the new assignment are fetched
   * again from the commit; their deferred and abandoned jobs are taken again.
   */
  async #drainForRebalance(heartbeat: () => Promise<void>): Promise<void> {
    const deferred = this.#intake.deferQueued();
    for (const owner of this.#owned.values()) {
      owner.stop.abort(new Error("The group is rebalancing"));
    }
    const rebalanceTimeoutMs = this.#options.group?.rebalanceTimeoutMs ??
      DEFAULT_GROUP_TIMINGS.rebalanceTimeoutMs;
    const budgetMs = Math.min(
      this.#settings.shutdownTimeoutMs,
      Math.max(0, rebalanceTimeoutMs - Math.max(1_000, rebalanceTimeoutMs / 5)),
    );
    log.info("The group is rebalancing: waiting up to {budgetMs} ms for {count} running jobs", {
      budgetMs,
      count: this.#pool.active,
    });
    const heartbeatMs = this.#options.group?.heartbeatIntervalMs ??
      DEFAULT_GROUP_TIMINGS.heartbeatIntervalMs;
    const deadline = performance.now() + budgetMs;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      if (await this.#pool.idle(AbortSignal.timeout(Math.min(left, heartbeatMs)))) break;
      // The broker answers REBALANCE_IN_PROGRESS but counts this member alive.
      await heartbeat().catch(() => {});
    }
    await this.#committer.commit();
    log.info("Re-joining the group; {deferred} queued jobs left to fetch again", { deferred });
  }

  /**
   * The partition went to another member (or starts afresh): nothing of it
   * is committed any more, queued jobs and retries stop, and running
   * handlers get the shutdown timeout before their signal aborts.
   */
  #revoke(owner: OwnedPartition): void {
    this.#owned.delete(owner.id);
    // kafkajs keeps a pause across rebalances: a partition coming back must fetch.
    if (owner.pausedForDeferred) {
      this.#consumer.resumePartition(owner.topic, owner.partition);
    }
    this.#intake.dropQueued(owner);
    owner.stop.abort(new Error(`Partition ${owner.id} was revoked`));
    const timer = setTimeout(
      () => owner.kill.abort(new Error(`Partition ${owner.id} was revoked`)),
      this.#settings.shutdownTimeoutMs,
    );
    Deno.unrefTimer(timer);
    this.#metrics.setLag(owner.topic, owner.partition, 0);
    log.info("Partition {partition} revoked", { partition: owner.partition });
  }

  #onRebalancing(): void {
    // After a drain everything is committed already.
    if (this.#revoking) return;
    // Flush while this member's generation is still the group's: once the
    // new generation forms, the broker refuses commits from the old one.
    log.info("The group is rebalancing: committing finished work");
    void this.#committer.commit();
  }

  #onCrash(error: Error, restart: boolean): void {
    if (restart) {
      // kafkajs restarts every few hundred ms while the broker is away: one line, not one a try.
      if (this.#restarts++ === 0) {
        log.warn("Consumer lost the broker and restarts until it is back: {error}", {
          error: error.message,
        });
      } else log.debug("Consumer restarts again: {error}", { error: error.message });
      return;
    }
    log.error("Consumer crashed for good: {error}", { error: error.message });
    this.#alive = false;
    this.#failure = error;
    this.#stopQuietly();
  }

  #dependencyChanged(change: BreakerChange): void {
    this.#metrics.setDependencyUp(change.dependency, change.state === "closed");
    if (change.state === "open") {
      this.#metrics.dependencyOutage(change.dependency);
      log.warn(
        "{dependency} is unavailable: jobs that need it wait (no attempt used) and one probes it now and then: {error}",
        { dependency: change.dependency, error: describe(change.error) },
      );
    } else if (change.state === "closed") {
      log.info("{dependency} is back after {seconds} s: waiting jobs resume", {
        dependency: change.dependency,
        seconds: ((change.downtimeMs ?? 0) / 1000).toFixed(1),
      });
    }
  }

  /** Reads the group's committed offsets and log ends: the lag as the broker (and KEDA) see it. */
  async #refreshLag(): Promise<void> {
    if (this.#owned.size === 0) return;
    try {
      const group = this.#settings.consumerGroup;
      const { partitions } = await fetchGroupLag(this.#admin, group, this.#topic);
      for (const { partition, logEndOffset, lag } of partitions) {
        const owner = this.#owned.get(partitionId(this.#topic, partition));
        if (!owner) continue;
        owner.highWatermark = Math.max(owner.highWatermark, logEndOffset);
        this.#metrics.setLag(this.#topic, partition, lag);
      }
    } catch (error) {
      log.debug("Could not read the group's lag: {error}", { error: (error as Error).message });
    }
  }

  async #shutdown(): Promise<void> {
    log.info("Stopping: {count} jobs in flight", { count: this.#pool.active });
    if (this.#joins > 0) this.#consumer.pause();
    this.#wakeRoomWaiters();
    const deferred = this.#intake.deferQueued();
    for (const owner of this.#owned.values()) owner.stop.abort(new Error("Worker stopping"));
    const timeout = this.#settings.shutdownTimeoutMs;
    if (!await this.#pool.idle(AbortSignal.timeout(timeout))) {
      log.warn("Jobs still running after {timeout} ms: aborting them", { timeout });
      for (const owner of this.#owned.values()) owner.kill.abort(new Error("Worker stopping"));
      await this.#pool.idle(AbortSignal.timeout(1_000));
    }
    this.#committer.stop();
    clearInterval(this.#lagTimer);
    this.#breakers.close();
    if (this.#alive) await this.#committer.commit();
    await this.#consumer.stop().catch((error) => log.warn("Disconnect failed: {error}", { error }));
    await this.#deadLetters.disconnect().catch(() => {});
    await this.#admin.disconnect().catch(() => {});
    log.info("Stopped; {deferred} queued jobs left for redelivery", { deferred });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
