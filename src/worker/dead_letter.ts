/**
 * Dead letters: a job that failed for good is published, exactly as it was
 * received (key, value and headers), to the dead-letter topic, with headers
 * that say where it came from and why it failed:
 *
 * | header                 | value                                                |
 * | ---------------------- | ---------------------------------------------------- |
 * | `x-original-topic`     | the topic it was consumed from                       |
 * | `x-original-partition` | its partition, decimal                               |
 * | `x-original-offset`    | its offset, decimal                                  |
 * | `x-error-class`        | the error's name, e.g. `JobDecodeError`              |
 * | `x-error-message`      | the error's message                                  |
 * | `x-attempts`           | attempts used, decimal (0: it never ran, e.g. bad JSON) |
 * | `x-first-failure-at`   | ISO 8601 time of the first failure                   |
 * | `x-last-failure-at`    | ISO 8601 time of the last failure                    |
 *
 * When the original message has no `job-type` header (a producer other than
 * jobpool's), the envelope's `type` is added as one, so that the tools that
 * read dead letters back can filter by type.
 *
 * Header names are exported as {@linkcode DEAD_LETTER_HEADERS} for the tools
 * that read dead letters back.
 *
 * @module
 */

import type { IHeaders, Kafka, Producer } from "kafkajs";
import type { KafkaConfig } from "../config/mod.ts";
import { createIdempotentProducer, createKafkaClient } from "../kafka/mod.ts";
import { JOB_HEADERS } from "../jobs/mod.ts";
import { ensureTopic } from "../producer/mod.ts";

/** The headers added to every dead letter (see the module doc). */
export const DEAD_LETTER_HEADERS = {
  originalTopic: "x-original-topic",
  originalPartition: "x-original-partition",
  originalOffset: "x-original-offset",
  errorClass: "x-error-class",
  errorMessage: "x-error-message",
  attempts: "x-attempts",
  firstFailureAt: "x-first-failure-at",
  lastFailureAt: "x-last-failure-at",
} as const;

/** A consumed message, as it is copied to the dead-letter topic. */
export interface OriginalMessage {
  /** The topic it was consumed from. */
  topic: string;
  /** Its partition. */
  partition: number;
  /** Its offset, decimal. */
  offset: string;
  /** Its key, copied as it was. */
  key: Buffer | null;
  /** Its value, copied as it was. */
  value: Buffer | null;
  /** Its headers, copied as they were. */
  headers?: IHeaders;
}

/** Why a message is dead-lettered. */
export interface DeadLetterReason {
  /** The last failure. */
  error: unknown;
  /** Attempts made (0 when the handler never ran). */
  attempts: number;
  /** When the first attempt failed. */
  firstFailureAt: Date;
  /** When the last attempt failed. */
  lastFailureAt: Date;
  /**
   * The job type the envelope names; written as the `job-type` header when
   * the original message has none (producers other than jobpool's).
   */
  jobType?: string;
}

/** The headers of a dead letter: the original ones plus {@linkcode DEAD_LETTER_HEADERS}. */
export function deadLetterHeaders(message: OriginalMessage, reason: DeadLetterReason): IHeaders {
  const error = reason.error instanceof Error
    ? reason.error
    : new Error(String(reason.error ?? "unknown error"));
  const typeHeader = message.headers?.[JOB_HEADERS.type] === undefined && reason.jobType
    ? { [JOB_HEADERS.type]: reason.jobType }
    : {};
  return {
    ...message.headers,
    ...typeHeader,
    [DEAD_LETTER_HEADERS.originalTopic]: message.topic,
    [DEAD_LETTER_HEADERS.originalPartition]: String(message.partition),
    [DEAD_LETTER_HEADERS.originalOffset]: message.offset,
    [DEAD_LETTER_HEADERS.errorClass]: error.name,
    [DEAD_LETTER_HEADERS.errorMessage]: error.message,
    [DEAD_LETTER_HEADERS.attempts]: String(reason.attempts),
    [DEAD_LETTER_HEADERS.firstFailureAt]: reason.firstFailureAt.toISOString(),
    [DEAD_LETTER_HEADERS.lastFailureAt]: reason.lastFailureAt.toISOString(),
  };
}

/** Publishes dead letters to one topic. */
export class DeadLetterPublisher {
  readonly #producer: Producer;
  readonly #topic: string;

  /** A publisher to `topic` on an idempotent producer of `kafka`; {@linkcode DeadLetterPublisher.connect} connects it. */
  constructor(kafka: Kafka, topic: string) {
    this.#topic = topic;
    // Idempotent with acks=all: a dead letter must not be lost once its
    // offset counts as finished.
    this.#producer = createIdempotentProducer(kafka);
  }

  /** The dead-letter topic. */
  get topic(): string {
    return this.#topic;
  }

  /** Connects the producer. */
  async connect(): Promise<void> {
    await this.#producer.connect();
  }

  /** Publishes `message` with its reason; resolves once the broker has it. */
  async publish(message: OriginalMessage, reason: DeadLetterReason): Promise<void> {
    await this.#producer.send({
      topic: this.#topic,
      acks: -1,
      messages: [{
        key: message.key,
        value: message.value,
        headers: deadLetterHeaders(message, reason),
      }],
    });
  }

  /** Flushes and closes the producer. */
  async disconnect(): Promise<void> {
    await this.#producer.disconnect();
  }
}

/** Options of {@linkcode ensureDeadLetterTopic}. */
export interface EnsureDeadLetterTopicOptions {
  /** The cluster; `kafka.topic` is the job topic whose layout the dead-letter topic copies. */
  kafka: KafkaConfig;
  /** The dead-letter topic to create. */
  deadLetterTopic: string;
}

/**
 * Creates the dead-letter topic when missing, with as many partitions and
 * replicas as the job topic (defaults of {@linkcode ensureTopic} when the job
 * topic cannot be described). Resolves to `true` when it created the topic.
 */
export async function ensureDeadLetterTopic(
  options: EnsureDeadLetterTopicOptions,
): Promise<boolean> {
  const layout = await topicLayout(options.kafka);
  return await ensureTopic({ kafka: options.kafka, topic: options.deadLetterTopic, ...layout });
}

async function topicLayout(
  kafka: KafkaConfig,
): Promise<{ partitions?: number; replicationFactor?: number }> {
  const admin = createKafkaClient(kafka, { clientId: `${kafka.clientId}-admin` }).admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [kafka.topic] });
    const partitions = topics[0]?.partitions ?? [];
    const replicas = partitions[0]?.replicas.length;
    return partitions.length === 0 || !replicas
      ? {}
      : { partitions: partitions.length, replicationFactor: replicas };
  } catch {
    return {};
  } finally {
    await admin.disconnect();
  }
}
