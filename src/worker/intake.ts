/**
 * Intake: what happens to each fetched message before it runs. The worker's
 * memory is bounded, and a key that cannot make progress must never hold
 * memory the other keys need (head-of-line blocking stays inside a key).
 *
 * Each message is either
 * - **taken**: handed to the keyed pool, which runs a key's messages one at
 *   a time in offset order;
 * - **deferred**: registered (so the partition's commit point waits for it)
 *   but not kept in memory, when its key cannot take it now: the key's
 *   running job waits (a retry delay, an outage, a claim held elsewhere), the
 *   key already holds its share of the buffer ({@linkcode IntakeOptions.keyCap}),
 *   or an earlier message of the key is deferred; or
 * - **left for later** (back-pressure): the buffer is full of runnable jobs;
 *   the consumer waits for room, heartbeating meanwhile.
 *
 * When a key can take messages again (its waiting job ended, its backlog
 * drained), its partition is **rewound** to the key's first deferred offset:
 * the consumer seeks there and fetches again. Messages taken before are
 * recognised by offset and skipped, deferred ones are taken in order. A
 * partition that defers more than {@linkcode IntakeOptions.deferLimit}
 * messages pauses until its deferred messages are taken again.
 *
 * The price of deferring is fetching the same bytes twice; the price of
 * not deferring would be one stuck key stopping every other key.
 *
 * @module
 */

import type { ConsumedBatch, ConsumedMessage } from "./consumer.ts";
import type { JobItem, JobResult } from "./job_runner.ts";
import type { KeyedPool } from "./keyed_pool.ts";
import { partitionId, PartitionOffsets } from "./offsets.ts";

/** What intake does to the consumer: rewind and pause partitions. */
export interface IntakeConsumer {
  /** The next fetch of the partition starts at `offset`. */
  seek(topic: string, partition: number, offset: number): void;
  /** Stops fetching one partition. */
  pausePartition(topic: string, partition: number): void;
  /** Fetches a paused partition again. */
  resumePartition(topic: string, partition: number): void;
}

/** A partition this worker owns, with its offsets and deferred messages. */
export class OwnedPartition {
  /** The topic. */
  readonly topic: string;
  /** The partition. */
  readonly partition: number;
  /** `topic:partition`. */
  readonly id: string;
  /** `topic:partition/`, what the pool keys of its messages start with. */
  readonly keyPrefix: string;
  /** Registered and finished offsets: where its commit point is. */
  readonly offsets = new PartitionOffsets();
  /** Aborted on loss, rebalance or shutdown: no new job or retry starts. */
  stop = new AbortController();
  /** Aborted when running handlers' grace time is over. */
  kill = new AbortController();
  /** The log end offset, as last seen. */
  highWatermark = 0;
  /** Deferred offsets, and the key of each. */
  readonly #deferred = new Map<number, string>();
  /** Deferred offsets of each key, ascending. */
  readonly #byKey = new Map<string, number[]>();
  /** The offset a requested seek goes to, until the next batch arrives. */
  rewindTo: number | undefined;
  /**
   * The next offset fetching will hand over (undefined until a batch came,
   * and after a re-join, when the consumer starts again from the commit).
   * Deferred messages at or after it come by anyway: no seek for them.
   */
  position: number | undefined;
  /** Paused because too many of its messages are deferred. */
  pausedForDeferred = false;

  /** A partition taken over in a new assignment. */
  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
    this.id = partitionId(topic, partition);
    this.keyPrefix = `${this.id}/`;
  }

  /** Fresh signals after a re-join kept the partition (the old stop was aborted). */
  renew(): void {
    if (this.stop.signal.aborted) this.stop = new AbortController();
    if (this.kill.signal.aborted) this.kill = new AbortController();
    this.position = undefined;
    this.rewindTo = undefined;
  }

  /** How many of its messages are deferred. */
  get deferred(): number {
    return this.#deferred.size;
  }

  /** True when `offset` is deferred. */
  isDeferred(offset: number): boolean {
    return this.#deferred.has(offset);
  }

  /** The first deferred offset of `key`, if any. */
  firstDeferred(key: string): number | undefined {
    return this.#byKey.get(key)?.[0];
  }

  /** Records `offset` (of `key`) as deferred, keeping the key's offsets in order. */
  defer(key: string, offset: number): void {
    if (this.#deferred.has(offset)) return;
    this.#deferred.set(offset, key);
    const list = this.#byKey.get(key);
    if (!list) {
      this.#byKey.set(key, [offset]);
      return;
    }
    let at = list.length;
    while (at > 0 && list[at - 1]! > offset) at--;
    list.splice(at, 0, offset);
  }

  /** Takes `offset`, the first deferred offset of `key`, back. */
  undefer(key: string, offset: number): void {
    this.#deferred.delete(offset);
    const list = this.#byKey.get(key);
    if (!list) return;
    if (list[0] === offset) list.shift();
    else list.splice(list.indexOf(offset), 1);
    if (list.length === 0) this.#byKey.delete(key);
  }
}

/** A message taken into the pool: the job and where it came from. */
export class WorkerJob implements JobItem {
  /** The consumed message. */
  readonly message: ConsumedMessage;
  /** Its partition, as owned when it was taken. */
  readonly owner: OwnedPartition;
  /** Its pool key. */
  readonly key: string;
  /** Its offset. */
  readonly offset: number;
  /** Its key's and value's bytes: what it holds in memory. */
  readonly size: number;
  /** Its partition's stop signal when it was taken. */
  readonly stop: AbortSignal;
  /** Its partition's kill signal when it was taken. */
  readonly kill: AbortSignal;
  /** How it ended. */
  result: JobResult | undefined = undefined;
  /** Time from its first attempt to its end, or -1 when no handler ran. */
  handlerMs: number = -1;

  /** `message` of `owner`, keyed `key`. */
  constructor(message: ConsumedMessage, owner: OwnedPartition, key: string) {
    this.message = message;
    this.owner = owner;
    this.key = key;
    this.offset = Number(message.offset);
    this.size = (message.key?.length ?? 0) + (message.value?.length ?? 0);
    this.stop = owner.stop.signal;
    this.kill = owner.kill.signal;
  }
}

/** Options of {@linkcode Intake}. */
export interface IntakeOptions {
  /** Where taken messages run. */
  pool: KeyedPool<WorkerJob>;
  /** Rewinds and pauses partitions. */
  consumer: IntakeConsumer;
  /** Runnable jobs (queued or running) held at most; fetching waits above it. */
  bufferSize: number;
  /**
   * Bytes of messages held at most, runnable and waiting each (the pool
   * weighs jobs by {@linkcode WorkerJob.size}); a message is taken whenever
   * none is held, however large.
   */
  bufferBytes: number;
  /** Messages one key may hold in memory; later ones are deferred. */
  keyCap: number;
  /** Deferred messages per partition before it pauses. */
  deferLimit: number;
  /** Jobs waiting (retry, outage, claim) held at most before fetching waits. */
  maxWaiting: number;
}

/** The hand-off from fetched batches to the pool (see the module doc). */
export class Intake {
  readonly #pool: KeyedPool<WorkerJob>;
  readonly #consumer: IntakeConsumer;
  readonly #bufferSize: number;
  readonly #bufferBytes: number;
  readonly #keyCap: number;
  readonly #deferLimit: number;
  readonly #maxWaiting: number;

  /** Intake over `options.pool`. */
  constructor(options: IntakeOptions) {
    this.#pool = options.pool;
    this.#consumer = options.consumer;
    this.#bufferSize = options.bufferSize;
    this.#bufferBytes = options.bufferBytes;
    this.#keyCap = options.keyCap;
    this.#deferLimit = options.deferLimit;
    this.#maxWaiting = options.maxWaiting;
  }

  /**
   * Takes or defers the messages of `batch` from `messages[from]` on; returns
   * how many it went through (fewer than offered when the buffer is full or
   * the partition paused).
   */
  offer(owner: OwnedPartition, batch: ConsumedBatch, from: number): number {
    // A batch arriving after a seek was asked for comes from the new position.
    owner.rewindTo = undefined;
    const { messages } = batch;
    const offsets = owner.offsets;
    let next = from;
    for (; next < messages.length; next++) {
      const message = messages[next]!;
      const offset = Number(message.offset);
      const key = keyOf(owner, message);
      if (offsets.has(offset)) {
        // Fetched again (a rewind, a re-join): only deferred messages count.
        if (owner.isDeferred(offset) && this.#canTake(owner, key, offset)) {
          if (!this.hasSpace()) break;
          owner.undefer(key, offset);
          this.#pool.submit(key, new WorkerJob(message, owner, key));
        }
        continue;
      }
      if (this.#canTake(owner, key, offset)) {
        if (!this.hasSpace()) break;
        offsets.register(offset);
        this.#pool.submit(key, new WorkerJob(message, owner, key));
      } else {
        offsets.register(offset);
        owner.defer(key, offset);
        if (owner.deferred >= this.#deferLimit) {
          this.#pause(owner);
          owner.position = offset + 1;
          return next + 1 - from;
        }
      }
    }
    const stopped = messages[next];
    const last = messages[messages.length - 1];
    if (stopped) owner.position = Number(stopped.offset);
    else if (last) owner.position = Number(last.offset) + 1;
    return next - from;
  }

  /** True while a runnable job more fits in memory (by count and by bytes). */
  hasSpace(): boolean {
    const pool = this.#pool;
    return pool.runnable < this.#bufferSize && pool.runnableWeight < this.#bufferBytes &&
      this.#waitingFits();
  }

  /** Room to fetch again: half the buffer free, so fetching does not flap at the edge. */
  hasRoom(): boolean {
    const pool = this.#pool;
    return pool.runnable <= this.#bufferSize / 2 &&
      pool.runnableWeight <= this.#bufferBytes / 2 && this.#waitingFits();
  }

  #waitingFits(): boolean {
    return this.#pool.waiting < this.#maxWaiting && this.#pool.waitingWeight < this.#bufferBytes;
  }

  /** The running job of `key` waits: its queued followers leave memory (deferred). */
  keyWaiting(key: string): void {
    for (const job of this.#pool.evictQueued(key)) job.owner.defer(job.key, job.offset);
  }

  /** Takes every queued job out of memory (a rebalance or shutdown): they are deferred. */
  deferQueued(): number {
    const jobs = this.#pool.clearQueued();
    for (const job of jobs) job.owner.defer(job.key, job.offset);
    return jobs.length;
  }

  /** Drops the queued jobs of a partition that is let go. */
  dropQueued(owner: OwnedPartition): void {
    this.#pool.evictQueuedWhere((key) => key.startsWith(owner.keyPrefix));
  }

  /**
   * A job of `owner` ended: when its key can take messages again and has
   * deferred ones, the partition is rewound to the first of them.
   */
  jobEnded(owner: OwnedPartition, key: string): void {
    if (owner.deferred === 0) return;
    const first = owner.firstDeferred(key);
    if (first === undefined || this.#pool.isWaiting(key)) return;
    if (this.#pool.held(key) > this.#keyCap / 2) return;
    this.rewind(owner, first);
  }

  /**
   * Fetches `owner` again from `offset`, unless fetching has not got there
   * yet (then it comes by anyway: seeking would skip what lies between) or
   * an earlier rewind is pending.
   */
  rewind(owner: OwnedPartition, offset: number): void {
    if (owner.stop.signal.aborted) return;
    if (owner.position === undefined || offset >= owner.position) return;
    if (owner.rewindTo !== undefined && owner.rewindTo <= offset) return;
    owner.rewindTo = offset;
    owner.position = offset;
    this.#consumer.seek(owner.topic, owner.partition, offset);
    if (owner.pausedForDeferred) {
      owner.pausedForDeferred = false;
      this.#consumer.resumePartition(owner.topic, owner.partition);
    }
  }

  #canTake(owner: OwnedPartition, key: string, offset: number): boolean {
    if (owner.deferred > 0) {
      const first = owner.firstDeferred(key);
      if (first !== undefined && first !== offset) return false;
    }
    return !this.#pool.isWaiting(key) && this.#pool.held(key) < this.#keyCap;
  }

  #pause(owner: OwnedPartition): void {
    if (owner.pausedForDeferred) return;
    owner.pausedForDeferred = true;
    this.#consumer.pausePartition(owner.topic, owner.partition);
  }
}

/**
 * The pool key of a message: scoped to its partition (Kafka orders nothing
 * across partitions) and read as latin1, which maps bytes to text one to
 * one. A message without a key is a key of its own.
 */
export function keyOf(owner: OwnedPartition, message: ConsumedMessage): string {
  return message.key === null
    ? `${owner.keyPrefix}@${message.offset}`
    : owner.keyPrefix + message.key.toString("latin1");
}
