/**
 * The producer applications use to enqueue jobs: validates each job before
 * anything is sent, keys it by campaign and returns its event id. Each job
 * goes to Kafka, or, while a team migrates off a Redis queue, to the legacy
 * BullMQ queue or to both, as `JOB_TRANSPORT*` route its type.
 *
 * @module
 */

import { CompressionTypes, type Producer } from "kafkajs";
import type { KafkaConfig, LegacyConfig } from "../config/mod.ts";
import type { LegacyQueues } from "../bullmq/mod.ts";
import { usesBullmq, usesKafka } from "../transport/mod.ts";
import {
  createJobEvent,
  emailJobType,
  type EmailKind,
  type JobEvent,
  type JobType,
  type NewJobEvent,
  toJobMessage,
} from "../jobs/mod.ts";
import { createIdempotentProducer, createKafkaClient } from "../kafka/mod.ts";
import { routedSender, type SendEvents } from "./routing.ts";

/** An email job to enqueue. */
export interface EmailJobInput {
  /** Which email to send. */
  emailKind: EmailKind;
  /** The account the campaign belongs to. */
  accountId: string;
  /** The campaign (the message key). */
  campaignId: string;
  /** The recipient. */
  userId: string;
  /** 0 (lowest) to 10. @default 1 */
  priority?: number;
}

/** A position recalculation to enqueue. */
export interface PositionRecalcJobInput {
  /** The account the campaign belongs to. */
  accountId: string;
  /** The campaign to recalculate (the message key). */
  campaignId: string;
  /** Points per referral from now on; becomes the campaign's setting. */
  pointsPerReferral: number;
}

/** A reward delivery to enqueue. */
export interface RewardDeliveryJobInput {
  /** The account the campaign belongs to. */
  accountId: string;
  /** The campaign (the message key). */
  campaignId: string;
  /** The user reward to deliver. */
  userRewardId: string;
}

/** Enqueues jobs onto the job topic (or where `legacy` routes them). */
export interface JobProducer {
  /** Enqueues a `job.email.*` job; resolves to its event id. */
  enqueueEmailJob(input: EmailJobInput): Promise<string>;
  /** Enqueues a `job.position.recalculate` job; resolves to its event id. */
  enqueuePositionRecalcJob(input: PositionRecalcJobInput): Promise<string>;
  /** Enqueues a `job.reward.deliver` job; resolves to its event id. */
  enqueueRewardDeliveryJob(input: RewardDeliveryJobInput): Promise<string>;
  /**
   * Validates every job first, then sends them all in one batch; resolves to
   * their event ids in order. Nothing is sent when any job is invalid.
   */
  enqueueMany(jobs: readonly NewJobEvent<JobType>[]): Promise<string[]>;
  /**
   * Sends already-built events as they are (used by replay tools, and to
   * re-send an {@linkcode EnqueueError}'s events).
   */
  sendEvents(events: readonly JobEvent[]): Promise<void>;
  /** Flushes and closes the connection. */
  disconnect(): Promise<void>;
}

/** Options of {@linkcode createJobProducer}. */
export interface JobProducerOptions {
  /** Bootstrap servers, TLS and SASL; `topic` is where jobs go. */
  kafka: KafkaConfig;
  /** Compress batches with gzip. @default false */
  compress?: boolean;
  /**
   * Where each job type goes, and the BullMQ queues (`loadConfig(env).legacy`).
   * Without it every job goes to Kafka. A producer whose types all go to
   * BullMQ does not connect to Kafka.
   */
  legacy?: LegacyConfig;
}

/**
 * Connects an idempotent producer (`acks=all`) for the configured topic.
 *
 * @example
 * ```ts ignore
 * const producer = await createJobProducer({ kafka: config.kafka });
 * const id = await producer.enqueueEmailJob({ emailKind: "welcome", accountId, campaignId, userId });
 * await producer.disconnect();
 * ```
 */
export async function createJobProducer(options: JobProducerOptions): Promise<JobProducer> {
  const { legacy } = options;
  const producer = !legacy || usesKafka(legacy)
    ? createIdempotentProducer(
      createKafkaClient(options.kafka, { clientId: `${options.kafka.clientId}-producer` }),
    )
    : undefined;
  await producer?.connect();
  const queues = legacy && usesBullmq(legacy) ? await openLegacyQueues(legacy) : undefined;
  const topic = options.kafka.topic;
  const compression = options.compress ? CompressionTypes.GZIP : CompressionTypes.None;
  const toKafka: SendEvents | undefined = producer &&
    ((events) => send(producer, { topic, compression, events }));
  const deliver: SendEvents = legacy
    ? routedSender(legacy, {
      ...(toKafka ? { kafka: toKafka } : {}),
      ...(queues ? { bullmq: (events) => queues.add(events) } : {}),
    })
    : toKafka!;

  async function sendEvents(events: readonly JobEvent[]): Promise<void> {
    if (events.length === 0) return;
    await deliver(events);
  }

  async function enqueueOne<T extends JobType>(input: NewJobEvent<T>): Promise<string> {
    const event = createJobEvent(input);
    await sendEvents([event]);
    return event.id;
  }

  return {
    enqueueEmailJob(input) {
      return enqueueOne({
        type: emailJobType(input.emailKind),
        accountId: input.accountId,
        campaignId: input.campaignId,
        data: {
          type: input.emailKind,
          campaign_id: input.campaignId,
          user_id: input.userId,
          priority: input.priority ?? 1,
        },
      });
    },
    enqueuePositionRecalcJob(input) {
      return enqueueOne({
        type: "job.position.recalculate",
        accountId: input.accountId,
        campaignId: input.campaignId,
        data: { campaign_id: input.campaignId, points_per_referral: input.pointsPerReferral },
      });
    },
    enqueueRewardDeliveryJob(input) {
      return enqueueOne({
        type: "job.reward.deliver",
        accountId: input.accountId,
        campaignId: input.campaignId,
        data: { user_reward_id: input.userRewardId },
      });
    },
    async enqueueMany(jobs) {
      const events = jobs.map((job) => createJobEvent(job));
      await sendEvents(events);
      return events.map((event) => event.id);
    },
    sendEvents,
    async disconnect() {
      await Promise.all([producer?.disconnect(), queues?.close()]);
    },
  };
}

async function send(
  producer: Producer,
  options: { topic: string; compression: CompressionTypes; events: readonly JobEvent[] },
): Promise<void> {
  await producer.send({
    topic: options.topic,
    acks: -1,
    compression: options.compression,
    messages: options.events.map(toJobMessage),
  });
}

/**
 * The BullMQ queues, loaded on first use: a producer that only sends to Kafka
 * (the worker's, by default) never loads BullMQ and ioredis (about 25 MB of
 * resident memory).
 */
async function openLegacyQueues(legacy: LegacyConfig): Promise<LegacyQueues> {
  const { LegacyQueues } = await import("../bullmq/mod.ts");
  return new LegacyQueues(legacy);
}
