/**
 * The bridge: moves the jobs waiting in BullMQ queues (and, when asked, the
 * delayed ones) onto the Kafka job topic as job events, oldest first, for
 * the final switch to Kafka. Each job is read as an event
 * (`mapping.ts`); a job that is not a valid event is reported with the
 * reason and left where it is. Valid jobs are sent in batches; a batch's
 * jobs leave Redis only once Kafka has it, and a journal (`bridge_journal.ts`)
 * makes a bridge killed at any moment lose nothing and send nothing twice
 * when run again.
 *
 * @module
 */

import type { Admin, Kafka } from "kafkajs";
import { type Job, Queue } from "bullmq";
import type { LegacyConfig } from "../config/mod.ts";
import { createRedisClient, redisOptions } from "../bullmq/mod.ts";
import { type JobEvent, type JobMessage, toJobMessage } from "../jobs/mod.ts";
import { createIdempotentProducer } from "../kafka/mod.ts";
import { logger } from "../observability/logging.ts";
import {
  clearJournal,
  journalKey,
  logEnds,
  readJournal,
  sentEventIds,
  writeJournal,
} from "./bridge_journal.ts";
import { acquireBridgeLock } from "./bridge_lock.ts";
import { legacyJobEvent } from "./mapping.ts";

/** A header naming the BullMQ job a bridged event came from: `prefix:queue:jobId`. */
export const BRIDGED_FROM_HEADER = "x-bullmq-job";

/** Options of {@linkcode runBridge}. */
export interface BridgeOptions {
  /** A kafkajs client of the cluster. */
  kafka: Kafka;
  /** The job topic. */
  topic: string;
  /** Redis, the prefix and the job name mapping. */
  legacy: LegacyConfig;
  /** The queues to empty, in order. */
  queues: readonly string[];
  /** Move delayed jobs too (they run as soon as they reach Kafka). @default false */
  delayed?: boolean;
  /** Jobs per Kafka batch. @default 500 */
  batchSize?: number;
  /** Told of every invalid job, once per run. */
  onInvalid?: (job: InvalidJob) => void;
  /** Told of what the bridge is doing (recovery, waiting for a lock). */
  onNotice?: (text: string) => void;
  /** Stops after the current batch. */
  signal?: AbortSignal;
  /**
   * A test seam: runs after a batch reached Kafka and before its jobs leave
   * Redis (a crash there is what the journal is for).
   */
  afterSend?: (events: readonly JobEvent[]) => Promise<void>;
}

/** A job left in its queue because it is no valid job event. */
export interface InvalidJob {
  /** The queue. */
  queue: string;
  /** Its BullMQ job id. */
  jobId: string;
  /** Its name. */
  name: string;
  /** Why it is not a valid event (the field and the problem). */
  reason: string;
}

/** What a run did so far (read it for a progress line). */
export interface BridgeProgress {
  /** Jobs due to move when the run started (waiting, prioritized, delayed if asked). */
  total: number;
  /** Jobs now in Kafka and out of Redis. */
  moved: number;
  /** Jobs left in Redis as invalid. */
  invalid: number;
  /** Jobs of a killed run's last batch found in Kafka and removed from Redis. */
  recovered: number;
}

/** A bridge run: its progress while it runs, and its end. */
export interface BridgeRun {
  /** Live counts. */
  readonly progress: Readonly<BridgeProgress>;
  /** Settles with the final counts once every queue is done. */
  readonly done: Promise<BridgeProgress>;
}

const log = logger("legacy", "bridge");

/** Starts moving jobs; see the module doc. */
export function runBridge(options: BridgeOptions): BridgeRun {
  const progress: BridgeProgress = { total: 0, moved: 0, invalid: 0, recovered: 0 };
  return { progress, done: bridgeAll(options, progress).then(() => progress) };
}

async function bridgeAll(options: BridgeOptions, progress: BridgeProgress): Promise<void> {
  const redis = createRedisClient(options.legacy);
  const producer = createIdempotentProducer(options.kafka);
  const admin = options.kafka.admin();
  const queues = options.queues.map((name) =>
    new Queue(name, { connection: redisOptions(options.legacy), prefix: options.legacy.prefix })
  );
  try {
    await producer.connect();
    await admin.connect();
    for (const queue of queues) {
      progress.total += sum(await queue.getJobCounts(...states(options)));
    }
    for (const queue of queues) {
      const lock = await acquireBridgeLock(redis, {
        key: `${options.legacy.prefix}:${queue.name}:jobpool-bridge:lock`,
        onWait: (ms) =>
          options.onNotice?.(`Waiting up to ${ms} ms for the lock of an earlier bridge run`),
      });
      try {
        const context: QueueContext = { ...options, queue, redis, producer, admin, progress, lock };
        await recover(context);
        await drain(context);
      } finally {
        await lock.release();
      }
    }
  } finally {
    await Promise.allSettled(queues.map((queue) => queue.close()));
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    redis.disconnect();
  }
}

interface QueueContext extends BridgeOptions {
  queue: Queue;
  redis: ReturnType<typeof createRedisClient>;
  producer: ReturnType<typeof createIdempotentProducer>;
  admin: Admin;
  progress: BridgeProgress;
  lock: { lost: AbortSignal };
}

function states(options: Pick<BridgeOptions, "delayed">): ("wait" | "prioritized" | "delayed")[] {
  return options.delayed ? ["wait", "prioritized", "delayed"] : ["wait", "prioritized"];
}

/** Finishes the batch of a killed run: removes what reached Kafka, keeps the rest. */
async function recover(context: QueueContext): Promise<void> {
  const key = journalKey(context.legacy.prefix, context.queue.name);
  const entry = await readJournal(context.redis, key);
  if (!entry) return;
  context.onNotice?.(
    `Found the last batch of an earlier run (${entry.jobs.length} jobs): looking for it in ${entry.topic}`,
  );
  const sent = await sentEventIds(context.kafka, { entry });
  for (const { jobId, eventId } of entry.jobs) {
    if (sent.has(eventId) && await context.queue.remove(jobId) === 1) context.progress.recovered++;
  }
  await clearJournal(context.redis, key);
  context.onNotice?.(
    `${sent.size} of them had reached Kafka and left the queue; the others are sent now`,
  );
}

/** Sweeps the queue until a sweep moves nothing (jobs may arrive meanwhile). */
async function drain(context: QueueContext): Promise<void> {
  const reported = new Set<string>();
  for (;;) {
    let moved = 0;
    for (const state of states(context)) {
      // Invalid jobs stay at the front (oldest first): later pages start after them.
      let kept = 0;
      for (;;) {
        if (context.signal?.aborted || context.lock.lost.aborted) {
          throw context.lock.lost.reason ?? context.signal?.reason;
        }
        const size = context.batchSize ?? 500;
        const jobs = await context.queue.getJobs([state], kept, kept + size - 1, true) as Job[];
        if (jobs.length === 0) break;
        const { events, invalid } = await readEvents(context, jobs);
        for (const job of invalid) {
          kept++;
          if (reported.has(job.jobId)) continue;
          reported.add(job.jobId);
          context.progress.invalid++;
          context.onInvalid?.(job);
        }
        moved += await sendBatch(context, events);
      }
    }
    if (moved === 0) return;
  }
}

async function readEvents(
  context: QueueContext,
  jobs: readonly Job[],
): Promise<{ events: { job: Job; event: JobEvent }[]; invalid: InvalidJob[] }> {
  const events: { job: Job; event: JobEvent }[] = [];
  const invalid: InvalidJob[] = [];
  for (const job of jobs) {
    try {
      const event = await legacyJobEvent(job, { ...context.legacy, queue: context.queue.name });
      events.push({ job, event });
    } catch (error) {
      invalid.push({
        queue: context.queue.name,
        jobId: job.id ?? "",
        name: job.name,
        reason: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return { events, invalid };
}

/**
 * Journal, send, remove, clear: the batch's jobs leave Redis only once Kafka
 * has them. Resolves to the jobs moved; a job a legacy worker took while it
 * was sent stays with that worker (both run it, and it runs once).
 */
async function sendBatch(
  context: QueueContext,
  batch: readonly { job: Job; event: JobEvent }[],
): Promise<number> {
  if (batch.length === 0) return 0;
  const key = journalKey(context.legacy.prefix, context.queue.name);
  await writeJournal(context.redis, key, {
    topic: context.topic,
    offsets: await logEnds(context.admin, context.topic),
    jobs: batch.map(({ job, event }) => ({ jobId: job.id ?? "", eventId: event.id })),
  });
  await context.producer.send({
    topic: context.topic,
    acks: -1,
    messages: batch.map(({ job, event }) => bridgedMessage(context, job, event)),
  });
  await context.afterSend?.(batch.map(({ event }) => event));
  const removed = await Promise.all(batch.map(({ job }) => context.queue.remove(job.id ?? "")));
  await clearJournal(context.redis, key);
  const moved = removed.filter((count) => count === 1).length;
  if (moved < batch.length) {
    log.warn("{count} job(s) were taken by a worker while they were sent: both run them once", {
      count: batch.length - moved,
    });
  }
  context.progress.moved += moved;
  return moved;
}

function bridgedMessage(context: QueueContext, job: Job, event: JobEvent): JobMessage {
  const message = toJobMessage(event);
  message.headers[BRIDGED_FROM_HEADER] = `${context.legacy.prefix}:${context.queue.name}:${job.id}`;
  return message;
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((total, count) => total + count, 0);
}
