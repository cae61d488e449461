/**
 * The kafkajs adapter: a group consumer that only hands fetched messages
 * over and never runs a job itself.
 *
 * Why jobs never run inside `eachBatch`: kafkajs heartbeats from its fetch
 * loop, between batches, so a handler that runs inside `eachBatch` for
 * longer than the session timeout gets the member thrown out of the group.
 * Here `eachBatch` only hands messages to the worker's buffer. When the
 * buffer is full it waits for room — that is the back-pressure, fetching
 * stops — but wakes at least every heartbeat interval to call `heartbeat()`,
 * so the membership holds however long the jobs take, and the messages not
 * taken yet stay in hand instead of being fetched again. (Pausing the topic
 * instead made kafkajs sleep a whole `maxWaitTime` before fetching again once
 * resumed; with `src/kafka/busy_fetch_wait.ts` it would sleep 50 ms, but
 * still fetch the rest of the batch twice.) Pausing the topic is kept for
 * shutdown, where fetching stops for good while running jobs finish.
 *
 * Why offsets are resolved as messages are accepted: with auto-commit off,
 * kafkajs's resolved offset is just its fetch position, not a commit.
 *
 * Why commits are checked: kafkajs's `commitOffsets` returns without error
 * and without committing while its consumer restarts (after a broker
 * outage), so a commit counts only when kafkajs reported the broker's
 * acknowledgement (its `consumer.commit_offsets` event) for exactly those
 * offsets; otherwise {@linkcode JobConsumer.commit} throws and the worker
 * commits again.
 *
 * Seeking: {@linkcode JobConsumer.seek} moves a partition's fetch position
 * back to messages the worker let go (a key that was waiting); kafkajs drops
 * batches fetched before the seek (`isStale`).
 *
 * Rebalances: kafkajs has no revoke callback. When `heartbeat()` inside
 * `eachBatch` fails with `REBALANCE_IN_PROGRESS`, the group has not formed its
 * new generation yet and waits for this member to re-join: the worker's
 * {@linkcode ConsumerListener.onRevoking} then stops taking work, lets running
 * jobs finish (bounded) and commits them with the old generation before the
 * error goes on to kafkajs, which re-joins. When kafkajs meets the rebalance
 * outside `eachBatch` (an idle fetch loop) it re-joins at once: `REBALANCING`
 * then only flushes what finished so far. `GROUP_JOIN` carries the new
 * assignment; the worker drops partitions it lost there.
 *
 * @module
 */

import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from "kafkajs";
import { DEFAULT_FETCH_MAX_BYTES } from "../config/mod.ts";
import type { TopicPartitionOffset } from "./offsets.ts";
import type { Buffer } from "node:buffer";

/** One consumed message. */
export interface ConsumedMessage {
  /** The topic it was consumed from. */
  topic: string;
  /** Its partition. */
  partition: number;
  /** Its offset, decimal. */
  offset: string;
  /** Its key (the campaign id), or null. */
  key: Buffer | null;
  /** Its value (the job event as JSON), or null. */
  value: Buffer | null;
  /** Its headers (`job-type`, `job-id`, ...). */
  headers: IHeaders;
  /** Its timestamp, in ms since the epoch, decimal. */
  timestamp: string;
}

/** A fetched batch of one partition. */
export interface ConsumedBatch {
  /** The topic. */
  topic: string;
  /** The partition. */
  partition: number;
  /** The partition's log end offset when it was fetched. */
  highWatermark: string;
  /** The fetched messages, in offset order. */
  messages: ConsumedMessage[];
}

/** What the consumer tells the worker. */
export interface ConsumerListener {
  /**
   * A fetched batch; returns how many of its messages, from `messages[from]`
   * on, were accepted (fewer than offered when the buffer is full).
   */
  onBatch(batch: ConsumedBatch, from: number): number;
  /** Resolves when the buffer has room again, or after `timeoutMs`. */
  waitForRoom(timeoutMs: number): Promise<void>;
  /** True once the worker stops taking messages. */
  isStopping(): boolean;
  /** This member joined the group with this assignment (topic → partitions). */
  onAssigned(assignment: Readonly<Record<string, number[]>>): void;
  /**
   * The group started to rebalance and this member re-joins once the
   * returned promise settles: stop taking work, let running jobs finish
   * (bounded), commit. `heartbeat` keeps the membership while it waits (it
   * rejects while the rebalance is in progress, which is expected).
   */
  onRevoking(heartbeat: () => Promise<void>): Promise<void>;
  /** The group started to rebalance; the assignment is about to change. */
  onRebalancing(): void;
  /** kafkajs crashed; it restarts by itself when `restart` is true. */
  onCrash(error: Error, restart: boolean): void;
}

/**
 * Tuning of the group membership. The defaults are shorter than kafkajs's
 * (30 s session, 5 s fetch wait) because jobs never run inside the fetch
 * loop, so heartbeats are never late: a crashed member's partitions move on
 * after 10 s, and an idle member's fetch returns within 500 ms (the Java
 * client's default fetch wait), so it heartbeats and stops promptly. While
 * the worker has work in progress its fetches wait at most 50 ms
 * (`src/kafka/busy_fetch_wait.ts`), so a partition it resumes or seeks is
 * fetched again at once.
 */
export interface GroupTimings {
  /** The broker drops a member it has not heard from for this long. @default 10000 */
  sessionTimeoutMs?: number;
  /** How often to heartbeat. @default 1000 */
  heartbeatIntervalMs?: number;
  /** How long members get to re-join during a rebalance. @default 60000 */
  rebalanceTimeoutMs?: number;
  /** How long a fetch waits for data. @default 500 */
  maxWaitTimeMs?: number;
  /**
   * Cap on one fetch response. kafkajs decodes a whole response before the
   * first message is handed over and fetches again only once every batch of
   * it was taken, so this bounds the memory of fetched messages.
   * @default `KAFKA_FETCH_MAX_BYTES`'s default, 1 MiB
   */
  fetchMaxBytes?: number;
}

/** The defaults of {@linkcode GroupTimings}. */
export const DEFAULT_GROUP_TIMINGS = {
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 1_000,
  rebalanceTimeoutMs: 60_000,
  maxWaitTimeMs: 500,
} as const;

/** A commit kafkajs returned from without the broker's acknowledgement. */
export class CommitNotAcknowledgedError extends Error {
  /** The commit of `offsets` was not acknowledged. */
  constructor(offsets: readonly TopicPartitionOffset[]) {
    const list = offsets.map((o) => `${o.partition}@${o.offset}`).join(", ");
    super(
      `Commit of ${list} was not acknowledged by the broker (the consumer is restarting): it is sent again`,
    );
    this.name = "CommitNotAcknowledgedError";
  }
}

/** Options of {@linkcode JobConsumer}. */
export interface JobConsumerOptions extends GroupTimings {
  /** The client to build the consumer with. */
  kafka: Kafka;
  /** The consumer group. */
  groupId: string;
  /** The job topic. */
  topic: string;
  /** Where a group without committed offsets starts. */
  fromBeginning: boolean;
  /** Where fetched messages and group events go. */
  listener: ConsumerListener;
}

/** A kafkajs group consumer with manual commits and back-pressure on fetching. */
export class JobConsumer {
  readonly #consumer: Consumer;
  readonly #options: JobConsumerOptions;
  /** Partitions of the topic paused by {@linkcode pausePartition}. */
  readonly #paused = new Set<number>();

  /** Builds the consumer; {@linkcode JobConsumer.start} connects it. */
  constructor(options: JobConsumerOptions) {
    this.#options = options;
    this.#consumer = options.kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      ...definedTimings(options),
    });
    const { events } = this.#consumer;
    this.#consumer.on(events.GROUP_JOIN, ({ payload }) => {
      options.listener.onAssigned(payload.memberAssignment);
    });
    this.#consumer.on(events.REBALANCING, () => options.listener.onRebalancing());
    this.#consumer.on(events.CRASH, ({ payload }) => {
      options.listener.onCrash(payload.error, payload.restart);
    });
  }

  /** Connects, subscribes and joins the group; resolves once joined. */
  async start(): Promise<void> {
    await this.#consumer.connect();
    await this.#consumer.subscribe({
      topics: [this.#options.topic],
      fromBeginning: this.#options.fromBeginning,
    });
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.#handleBatch(payload),
    });
  }

  /** Stops fetching the topic (on shutdown); membership and heartbeats go on. */
  pause(): void {
    this.#consumer.pause([{ topic: this.#options.topic }]);
  }

  /**
   * Stops fetching one partition (a key at its cap in the buffer); the batch
   * being handed over stops there and is fetched again from the first message
   * not taken once {@linkcode resumePartition} is called.
   */
  pausePartition(topic: string, partition: number): void {
    this.#paused.add(partition);
    this.#consumer.pause([{ topic, partitions: [partition] }]);
  }

  /** Fetches the partition again, after the fetch in flight (at most 50 ms: the consumer is busy). */
  resumePartition(topic: string, partition: number): void {
    this.#paused.delete(partition);
    this.#consumer.resume([{ topic, partitions: [partition] }]);
  }

  /** The next fetch of the partition starts at `offset` (nothing is committed). */
  seek(topic: string, partition: number, offset: number): void {
    this.#consumer.seek({ topic, partition, offset: String(offset) });
  }

  /**
   * Commits `offsets` with the current group generation; resolves only once
   * the broker acknowledged them.
   *
   * @throws {CommitNotAcknowledgedError} when kafkajs skipped the commit.
   * @throws the broker's refusal (e.g. a new generation formed meanwhile).
   */
  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    let acknowledged = false;
    const stopListening = this.#consumer.on(this.#consumer.events.COMMIT_OFFSETS, (event) => {
      if (covers(event.payload.topics, offsets)) acknowledged = true;
    });
    try {
      await this.#consumer.commitOffsets(offsets.map((o) => ({ ...o })));
    } finally {
      stopListening();
    }
    if (!acknowledged) throw new CommitNotAcknowledgedError(offsets);
  }

  /** Leaves the group and disconnects. Commit first: nothing is committed here. */
  async stop(): Promise<void> {
    await this.#consumer.disconnect();
  }

  async #handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const { listener } = this.#options;
    const consumed = toConsumedBatch(batch);
    let next = 0;
    while (next < consumed.messages.length) {
      if (!isRunning() || isStale() || listener.isStopping()) return;
      const accepted = listener.onBatch(consumed, next);
      next += accepted;
      const last = consumed.messages[next - 1];
      if (accepted > 0 && last) resolveOffset(last.offset);
      if (this.#paused.has(consumed.partition)) return;
      if (next < consumed.messages.length) {
        await listener.waitForRoom(
          this.#options.heartbeatIntervalMs ?? DEFAULT_GROUP_TIMINGS.heartbeatIntervalMs,
        );
        await this.#heartbeat(heartbeat);
      }
    }
    // Once per batch (kafkajs sends it only when the interval is due): a
    // rebalance seen here, rather than in kafkajs's own fetch loop, lets
    // running jobs finish and commit before this member re-joins.
    await this.#heartbeat(heartbeat);
  }

  /**
   * Throws when the group rebalances: kafkajs then re-joins, and what was not
   * accepted is fetched again. Before that, the worker drains and commits
   * while this member's generation is still the group's.
   */
  async #heartbeat(heartbeat: () => Promise<void>): Promise<void> {
    try {
      await heartbeat();
    } catch (error) {
      if ((error as { type?: string }).type === "REBALANCE_IN_PROGRESS") {
        await this.#options.listener.onRevoking(heartbeat);
      }
      throw error;
    }
  }
}

/** True when the acknowledged `topics` hold every one of `offsets`. */
function covers(
  topics: { topic: string; partitions: { partition: number; offset: string }[] }[],
  offsets: readonly TopicPartitionOffset[],
): boolean {
  return offsets.every(({ topic, partition, offset }) =>
    topics.some((t) =>
      t.topic === topic &&
      t.partitions.some((p) => p.partition === partition && String(p.offset) === offset)
    )
  );
}

/**
 * The batch as the worker sees it. kafkajs's own message objects are handed
 * over, with their topic and partition added, rather than copied: a copy per
 * message was a tenth of the worker's garbage (kafkajs makes them for this
 * batch alone and never reads them again).
 */
function toConsumedBatch(batch: EachBatchPayload["batch"]): ConsumedBatch {
  const { topic, partition, highWatermark } = batch;
  const messages = batch.messages as (KafkaMessage & Partial<ConsumedMessage>)[];
  for (const message of messages) {
    message.topic = topic;
    message.partition = partition;
    // kafkajs's decoders always give headers; jobpool's reads them on first
    // use (`FetchedRecord`), so this asks whether they exist without reading them.
    if (!("headers" in (message as object))) message.headers = {};
  }
  return { topic, partition, highWatermark, messages: messages as ConsumedMessage[] };
}

function definedTimings(timings: GroupTimings) {
  const defaults = DEFAULT_GROUP_TIMINGS;
  return {
    sessionTimeout: timings.sessionTimeoutMs ?? defaults.sessionTimeoutMs,
    heartbeatInterval: timings.heartbeatIntervalMs ?? defaults.heartbeatIntervalMs,
    rebalanceTimeout: timings.rebalanceTimeoutMs ?? defaults.rebalanceTimeoutMs,
    maxWaitTimeInMs: timings.maxWaitTimeMs ?? defaults.maxWaitTimeMs,
    maxBytes: timings.fetchMaxBytes ?? DEFAULT_FETCH_MAX_BYTES,
  };
}
