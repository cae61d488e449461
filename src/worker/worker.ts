/**
 * The worker assembled. The consumer hands fetched batches to intake
 * (`intake.ts`), which takes messages into the keyed pool or defers them;
 * the pool runs each job (`job_runner.ts`) and hands it back here when it
 * ended — one channel, {@linkcode Worker}'s `#jobEnded`, where finished
 * offsets are booked for the committer (`commits.ts`), deferred keys are
 * rewound and fetching is woken. Which partitions are owned, and what a
 * rebalance does to them, is `membership.ts`'s; the options, the started
 * worker's face and the ports to Kafka are in `ports.ts`.
 *
 * @module
 */

import type { Kafka } from "kafkajs";
import type { Config } from "../config/mod.ts";
import { prepareJobDecoder } from "../jobs/mod.ts";
import { createKafkaClient } from "../kafka/mod.ts";
import { logger } from "../observability/logging.ts";
import type { WorkerMetrics } from "../observability/metrics.ts";
import { type BreakerChange, DependencyBreakers } from "./breakers.ts";
import { Committer } from "./commits.ts";
import { type ConsumedBatch, DEFAULT_GROUP_TIMINGS, JobConsumer } from "./consumer.ts";
import { DeadLetterPublisher, ensureDeadLetterTopic } from "./dead_letter.ts";
import { type JobRunnerOptions, runJob } from "./job_runner.ts";
import { Intake, type WorkerJob } from "./intake.ts";
import { KeyedPool } from "./keyed_pool.ts";
import { Membership } from "./membership.ts";
import { noopMetrics } from "./noop_metrics.ts";
import type { ConsumerPort, RunningWorker, WorkerOptions, WorkerPorts } from "./ports.ts";

/**
 * The longest pause between kafkajs's retries for the worker's client, and
 * so between its consumer's restarts after a crash (kafkajs waits the last
 * retry's pause): with kafkajs's 30 s cap a consumer that lost its broker
 * slept 8–13 s between restarts, and new work resumed that long after the
 * broker was back (9.5 s in the full drill). A connect to a broker that is
 * down fails at once, so trying every 2 s costs nothing.
 */
const RETRY_MAX_MS = 2_000;

/**
 * Connects, creates the dead-letter topic when missing, joins the group and
 * starts running jobs. Resolves once the consumer joined.
 */
export async function runWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { kafka: kafkaConfig, worker } = options.config;
  if (options.ensureDeadLetterTopic ?? true) {
    await ensureDeadLetterTopic({ kafka: kafkaConfig, deadLetterTopic: worker.deadLetterTopic });
  }
  const kafka = createKafkaClient(kafkaConfig, {
    clientId: `${kafkaConfig.clientId}-worker`,
    maxRetryTimeMs: RETRY_MAX_MS,
  });
  return await startWorker(options, kafkaPorts(options, kafka));
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
        fetchMaxBytes: worker.fetchMaxBytes,
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
  readonly #membership: Membership;
  readonly #done = Promise.withResolvers<void>();
  readonly #roomWaiters = new Set<() => void>();
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
      weigh: (job) => job.size,
      deferStarts: true,
    });
    this.#consumer = ports.consumer({
      onBatch: (batch, from) => this.#onBatch(batch, from),
      waitForRoom: (timeoutMs) => this.#waitForRoom(timeoutMs),
      isStopping: () => this.#stopping !== undefined,
      onAssigned: (assignment) => this.#onAssigned(assignment),
      onRevoking: (heartbeat) =>
        this.#stopping ? Promise.resolve() : this.#membership.revoked(heartbeat),
      onRebalancing: () => this.#membership.rebalancing(),
      onCrash: (error, restart) => this.#onCrash(error, restart),
    });
    this.#intake = new Intake({
      pool: this.#pool,
      consumer: this.#consumer,
      bufferSize: settings.bufferSize,
      bufferBytes: settings.bufferBytes,
      keyCap: Math.max(2, Math.floor(settings.bufferSize / 4)),
      deferLimit: settings.bufferSize * 10,
      maxWaiting: settings.bufferSize,
    });
    this.#membership = new Membership({
      topic: this.#topic,
      consumerGroup: settings.consumerGroup,
      shutdownTimeoutMs: settings.shutdownTimeoutMs,
      rebalanceTimeoutMs: options.group?.rebalanceTimeoutMs ??
        DEFAULT_GROUP_TIMINGS.rebalanceTimeoutMs,
      heartbeatIntervalMs: options.group?.heartbeatIntervalMs ??
        DEFAULT_GROUP_TIMINGS.heartbeatIntervalMs,
      pool: this.#pool,
      intake: this.#intake,
      committer: () => this.#committer,
      consumer: this.#consumer,
      admin: this.#admin,
      metrics: this.#metrics,
      onChecked: () => this.#wakeRoomWaiters(),
    });
    this.#committer = new Committer({
      commit: (offsets) => this.#consumer.commit(offsets),
      owned: () => this.#membership.owned.values(),
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
    if (this.#membership.assigned === 0) return "not joined or no partition assigned";
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
    return this.#membership.joins;
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
    return [...this.#membership.owned.values()].map((owner) => {
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
    prepareJobDecoder();
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
      () => void this.#membership.refreshLag(),
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
    const membership = this.#membership;
    if (this.#stopping || membership.revoking || membership.checking) return 0;
    const owner = membership.own(batch.topic, batch.partition);
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
    const current = this.#membership.isCurrent(owner);
    if (current && job.result === "finished") {
      owner.offsets.finish(job.offset);
      this.#committer.finished();
    } else if (current) {
      owner.defer(job.key, job.offset);
    }
    if (current && !this.#membership.revoking) this.#intake.jobEnded(owner, job.key);
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
    return !this.#membership.checking && this.#intake.hasRoom();
  }

  #wakeRoomWaiters(): void {
    for (const wake of [...this.#roomWaiters]) wake();
  }

  #onAssigned(assignment: Readonly<Record<string, number[]>>): void {
    if (this.#restarts > 0) {
      log.info("Consumer re-joined the group after {restarts} restarts", {
        restarts: this.#restarts,
      });
      this.#restarts = 0;
    }
    this.#membership.joined(assignment);
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

  async #shutdown(): Promise<void> {
    log.info("Stopping: {count} jobs in flight", { count: this.#pool.active });
    if (this.#membership.joins > 0) this.#consumer.pause();
    this.#wakeRoomWaiters();
    const deferred = this.#intake.deferQueued();
    this.#membership.stopAll(new Error("Worker stopping"));
    const timeout = this.#settings.shutdownTimeoutMs;
    if (!await this.#pool.idle(AbortSignal.timeout(timeout))) {
      log.warn("Jobs still running after {timeout} ms: aborting them", { timeout });
      this.#membership.killAll(new Error("Worker stopping"));
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
