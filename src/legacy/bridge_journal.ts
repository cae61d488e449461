/**
 * The bridge's journal: what makes moving a job from Redis to Kafka happen
 * once, whenever the bridge is killed.
 *
 * A job cannot leave Redis and enter Kafka in one step. Before a batch is
 * sent, the bridge writes to Redis which jobs it is about to send (job id and
 * event id) and where the job topic's partitions end at that moment; it
 * deletes the entry once the batch is in Kafka and its jobs are removed from
 * the queue. A bridge that finds an entry left by a killed one reads the job
 * topic from those offsets, removes the jobs whose event ids are there (they
 * were sent) and leaves the others in the queue (they are sent again later).
 *
 * @module
 */

import type { Admin, Kafka } from "kafkajs";
import type { Redis } from "ioredis";
import { delay } from "../async/mod.ts";
import { JOB_HEADERS } from "../jobs/mod.ts";

/** A batch on its way from a queue to the job topic. */
export interface JournalEntry {
  /** The topic the batch is sent to. */
  topic: string;
  /** Each partition's log end before the send (partition → offset, decimal). */
  offsets: Record<string, string>;
  /** The batch: BullMQ job id and the event id it is sent under. */
  jobs: { jobId: string; eventId: string }[];
}

/** The Redis key of a queue's journal entry. */
export function journalKey(prefix: string, queue: string): string {
  return `${prefix}:${queue}:jobpool-bridge:journal`;
}

/** Reads a queue's journal entry, if a bridge left one. */
export async function readJournal(redis: Redis, key: string): Promise<JournalEntry | undefined> {
  const text = await redis.get(key);
  return text === null ? undefined : JSON.parse(text) as JournalEntry;
}

/** Writes the entry of the batch about to be sent; resolves once Redis has it. */
export async function writeJournal(redis: Redis, key: string, entry: JournalEntry): Promise<void> {
  await redis.set(key, JSON.stringify(entry));
}

/** Deletes the entry: its batch is in Kafka and out of the queue. */
export async function clearJournal(redis: Redis, key: string): Promise<void> {
  await redis.del(key);
}

/** Each partition's log end of `topic`, as a journal records it. */
export async function logEnds(admin: Admin, topic: string): Promise<Record<string, string>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return Object.fromEntries(offsets.map(({ partition, high }) => [String(partition), high]));
}

/** Options of {@linkcode sentEventIds}. */
export interface SentEventIdsOptions {
  /** The journal entry whose batch is looked for. */
  entry: JournalEntry;
  /** Gives up after this long. @default 120000 */
  timeoutMs?: number;
}

/**
 * The event ids of `entry`'s batch found in its topic after the offsets it
 * recorded, read with a throwaway consumer group up to today's log ends.
 */
export async function sentEventIds(
  kafka: Kafka,
  options: SentEventIdsOptions,
): Promise<Set<string>> {
  const { entry } = options;
  const wanted = new Set(entry.jobs.map((job) => job.eventId));
  const found = new Set<string>();
  const admin = kafka.admin();
  await admin.connect();
  const ends = await logEnds(admin, entry.topic).finally(() => admin.disconnect());
  const remaining = new Map<number, bigint>();
  for (const [partition, end] of Object.entries(ends)) {
    const from = BigInt(entry.offsets[partition] ?? "0");
    if (BigInt(end) > from) remaining.set(Number(partition), BigInt(end));
  }
  if (remaining.size === 0) return found;
  const groupId = `jobpool-bridge-recovery-${crypto.randomUUID()}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  const { promise: done, resolve, reject } = Promise.withResolvers<void>();
  done.catch(() => {});
  const timeoutMs = options.timeoutMs ?? 120_000;
  const timer = setTimeout(
    () => reject(new Error(`Timed out after ${timeoutMs} ms reading topic "${entry.topic}"`)),
    timeoutMs,
  );
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: entry.topic, fromBeginning: true });
    let sought = false;
    await consumer.run({
      autoCommit: false,
      eachMessage: ({ partition, message }) => {
        const end = remaining.get(partition);
        if (!sought || end === undefined) return Promise.resolve();
        const offset = BigInt(message.offset);
        if (offset >= BigInt(entry.offsets[String(partition)] ?? "0") && offset < end) {
          const id = message.headers?.[JOB_HEADERS.id]?.toString();
          if (id !== undefined && wanted.has(id)) found.add(id);
        }
        if (offset + 1n >= end) remaining.delete(partition);
        if (remaining.size === 0 || found.size === wanted.size) resolve();
        return Promise.resolve();
      },
    });
    for (const partition of remaining.keys()) {
      consumer.seek({
        topic: entry.topic,
        partition,
        offset: entry.offsets[String(partition)] ?? "0",
      });
    }
    sought = true;
    await done;
    return found;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
    await deleteGroup(kafka, groupId);
  }
}

/** Deletes the throwaway group; the coordinator may count the member a moment longer. */
async function deleteGroup(kafka: Kafka, groupId: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (let attempt = 1; attempt <= 5; attempt++) {
      try {
        await admin.deleteGroups([groupId]);
        return;
      } catch {
        await delay(200 * attempt);
      }
    }
  } finally {
    await admin.disconnect();
  }
}
