/**
 * Reading the dead-letter topic back and replaying dead letters onto the job
 * topic, for `deno task dlq`.
 *
 * The reader joins a throwaway consumer group of its own (kafkajs cannot
 * consume without one), never the workers' group, reads each partition up to
 * the log end it saw at the start, and deletes its group afterwards.
 *
 * @module
 */

import type { Admin, IHeaders, Kafka, KafkaMessage } from "kafkajs";
import { Buffer } from "node:buffer";
import { delay } from "../async/mod.ts";
import { JOB_HEADERS } from "../jobs/mod.ts";
import { createIdempotentProducer } from "../kafka/mod.ts";
import { logger } from "../observability/logging.ts";
import { DEAD_LETTER_HEADERS } from "../worker/dead_letter.ts";

const log = logger("cli", "dlq");

/** A dead letter's position in the dead-letter topic, written `partition:offset`. */
export interface DeadLetterPosition {
  /** The partition of the dead-letter topic. */
  partition: number;
  /** The offset within the partition, as a decimal string. */
  offset: string;
}

/** A dead letter with what its headers say about it. */
export interface DeadLetter extends DeadLetterPosition {
  /** When it was dead-lettered (the record's timestamp). */
  timestamp: Date;
  /** The original message key, as it was first sent. */
  key: Buffer | null;
  /** The original message value, as it was first sent. */
  value: Buffer | null;
  /** Every header, decoded as UTF-8. */
  headers: Record<string, string>;
  /** Where the job was read from before it failed (`x-original-*` headers). */
  original: { topic?: string; partition?: number; offset?: string };
  /** The last error: its class and message. */
  error: { class?: string; message?: string };
  /** Attempts made before it was dead-lettered. */
  attempts?: number;
  /** When the first attempt failed (ISO 8601). */
  firstFailureAt?: string;
  /** When the last attempt failed (ISO 8601). */
  lastFailureAt?: string;
  /** The job's type and id, from its headers. */
  job: { type?: string; id?: string };
}

/** `partition:offset`, the way the CLI names a dead letter. */
export function formatPosition(position: DeadLetterPosition): string {
  return `${position.partition}:${position.offset}`;
}

/** Parses `partition:offset`; `undefined` when `text` is not one. */
export function parsePosition(text: string): DeadLetterPosition | undefined {
  const match = /^(\d+):(\d+)$/.exec(text);
  if (!match) return undefined;
  return { partition: Number(match[1]), offset: String(BigInt(match[2] ?? "0")) };
}

/** Decodes a consumed dead-letter record. */
export function toDeadLetter(partition: number, message: KafkaMessage): DeadLetter {
  const headers = decodeHeaders(message.headers);
  const h = DEAD_LETTER_HEADERS;
  const job = jobIdentity(headers, message.value);
  const attempts = headers[h.attempts];
  const originalPartition = headers[h.originalPartition];
  return {
    partition,
    offset: message.offset,
    timestamp: new Date(Number(message.timestamp)),
    key: message.key,
    value: message.value,
    headers,
    original: defined({
      topic: headers[h.originalTopic],
      partition: originalPartition === undefined ? undefined : Number(originalPartition),
      offset: headers[h.originalOffset],
    }),
    error: defined({ class: headers[h.errorClass], message: headers[h.errorMessage] }),
    job,
    ...defined({
      attempts: attempts === undefined ? undefined : Number(attempts),
      firstFailureAt: headers[h.firstFailureAt],
      lastFailureAt: headers[h.lastFailureAt],
    }),
  };
}

/**
 * The message to put back on the job topic: the original key, value and
 * headers, without the dead-letter headers (a replayed job starts afresh).
 */
export function replayMessage(
  letter: DeadLetter,
): { key: Buffer | null; value: Buffer | null; headers: Record<string, string> } {
  const failureHeaders = new Set<string>(Object.values(DEAD_LETTER_HEADERS));
  const headers = Object.fromEntries(
    Object.entries(letter.headers).filter(([name]) => !failureHeaders.has(name)),
  );
  return { key: letter.key, value: letter.value, headers };
}

/** Options of {@linkcode readDeadLetters}. */
export interface ReadDeadLettersOptions {
  /** The dead-letter topic. */
  topic: string;
  /** Prefix of the throwaway group's id; a random suffix follows. */
  groupPrefix: string;
  /** Keep only these positions, and stop as soon as all are found. */
  only?: readonly DeadLetterPosition[];
  /** Give up after this long. @default 60_000 */
  timeoutMs?: number;
  /** Stops the read: it rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Reads the dead letters present when called, ordered by partition then
 * offset.
 */
export async function readDeadLetters(
  kafka: Kafka,
  options: ReadDeadLettersOptions,
): Promise<DeadLetter[]> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${options.groupPrefix}-${crypto.randomUUID()}`;
  try {
    // Everything below these log ends was there when we started: reading up
    // to them is reading "the DLQ as it is now".
    const remaining = new Map<number, bigint>();
    for (const { partition, low, high } of await admin.fetchTopicOffsets(options.topic)) {
      if (BigInt(high) > BigInt(low)) remaining.set(partition, BigInt(high));
    }
    const wanted = options.only ? new Set(options.only.map(formatPosition)) : undefined;
    if (remaining.size === 0 || wanted?.size === 0) return [];
    const letters = await consumeUntil(kafka, { ...options, groupId, remaining, wanted });
    return letters.sort((a, b) =>
      a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset))
    );
  } finally {
    // The group only existed for this read; leaving it would clutter
    // `kafka-consumer-groups --list`.
    await deleteGroup(admin, groupId, options.signal);
    await admin.disconnect();
  }
}

async function consumeUntil(
  kafka: Kafka,
  options: ReadDeadLettersOptions & {
    groupId: string;
    remaining: Map<number, bigint>;
    wanted: Set<string> | undefined;
  },
): Promise<DeadLetter[]> {
  const { remaining, wanted } = options;
  const letters: DeadLetter[] = [];
  const consumer = kafka.consumer({ groupId: options.groupId, allowAutoTopicCreation: false });
  const { promise: done, resolve, reject } = Promise.withResolvers<void>();
  // A timeout or abort can come before `await done`; it is still reported there.
  done.catch(() => {});
  const timeoutMs = options.timeoutMs ?? 60_000;
  const timer = setTimeout(
    () =>
      reject(
        new Error(`Timed out after ${timeoutMs} ms reading dead-letter topic "${options.topic}"`),
      ),
    timeoutMs,
  );
  const onAbort = () => reject(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: options.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const end = remaining.get(partition);
        if (end === undefined) return;
        if (BigInt(message.offset) < end) {
          const letter = toDeadLetter(partition, message);
          const key = formatPosition(letter);
          if (!wanted) letters.push(letter);
          else if (wanted.delete(key)) letters.push(letter);
        }
        if (BigInt(message.offset) + 1n >= end) remaining.delete(partition);
        if (remaining.size === 0 || wanted?.size === 0) resolve();
        await Promise.resolve();
      },
    });
    if (options.signal?.aborted) onAbort();
    await done;
    return letters;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    await consumer.disconnect();
  }
}

/**
 * Deletes the reader's group. Right after the consumer left, the coordinator
 * may still count it as a member (`NON_EMPTY_GROUP`), so this tries a few
 * times; a group that never came to be (`GROUP_ID_NOT_FOUND`) is fine. An
 * aborted `signal` stops the tries: the empty group expires on its own.
 */
async function deleteGroup(
  admin: Admin,
  groupId: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await admin.deleteGroups([groupId]);
      return;
    } catch (error) {
      const codes = (error as { groups?: { error?: { type?: string } }[] }).groups
        ?.map((group) => group.error?.type) ?? [];
      if (codes.includes("GROUP_ID_NOT_FOUND")) return;
      if (attempt === 5) {
        log.warn("Could not delete the temporary consumer group {groupId}: {error}", {
          groupId,
          error,
        });
        return;
      }
      try {
        await delay(200 * attempt, signal ? { signal } : {});
      } catch {
        return;
      }
    }
  }
}

/** Publishes `letters` to `topic` as they were first sent; resolves once the broker has them. */
export async function replayDeadLetters(
  kafka: Kafka,
  topic: string,
  letters: readonly DeadLetter[],
): Promise<void> {
  if (letters.length === 0) return;
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: letters.map(replayMessage) });
  } finally {
    await producer.disconnect();
  }
}

function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    // kafkajs hands repeated headers over as an array; the last one wins, as
    // in most Kafka header lookups.
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (last !== undefined) decoded[name] = Buffer.isBuffer(last) ? last.toString("utf8") : last;
  }
  return decoded;
}

/** Type and id from the job headers, else from the JSON body (e.g. bad headers). */
function jobIdentity(
  headers: Record<string, string>,
  value: Buffer | null,
): { type?: string; id?: string } {
  let type = headers[JOB_HEADERS.type];
  let id = headers[JOB_HEADERS.id];
  if ((type === undefined || id === undefined) && value) {
    try {
      const body: unknown = JSON.parse(value.toString("utf8"));
      if (body && typeof body === "object") {
        const record = body as Record<string, unknown>;
        if (type === undefined && typeof record.type === "string") type = record.type;
        if (id === undefined && typeof record.id === "string") id = record.id;
      }
    } catch {
      // Not JSON (a poison message, most likely): its identity is unknown.
    }
  }
  return defined({ type, id });
}

/** Drops `undefined` properties, which `exactOptionalPropertyTypes` forbids. */
function defined<T extends Record<string, unknown>>(
  object: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(
    Object.entries(object).filter(([, value]) => value !== undefined),
  ) as { [K in keyof T]?: Exclude<T[K], undefined> };
}
