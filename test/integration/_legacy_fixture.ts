/**
 * Shared pieces of the legacy-queue tests: a configuration of the test run's
 * Kafka, Redis, PostgreSQL and a mail catcher with a topic, group and BullMQ
 * prefix of the test's own; the real handlers on it; reading the job topic
 * back; and BullMQ queues to look into.
 *
 * @module
 */

import { Queue } from "bullmq";
import { type Config, loadConfig } from "../../src/config/mod.ts";
import { seedCampaign } from "../../src/db/seed.ts";
import { createJobHandlers, type JobHandlers } from "../../src/handlers/mod.ts";
import { JOB_HEADERS } from "../../src/jobs/mod.ts";
import { createKafkaClient } from "../../src/kafka/mod.ts";
import { createSmtpMailer } from "../../src/mail/mod.ts";
import { ensureTopic } from "../../src/producer/mod.ts";
import { kafkaBrokers, redisUrl, uniqueName } from "../env/services.ts";
import { type SmtpCatcher, startSmtp } from "../env/smtp.ts";
import { type MigratedDatabase, migratedDatabase } from "./_database_fixture.ts";

/** A test's own topic, group, BullMQ prefix, database and mail catcher. */
export interface LegacyStack {
  config: Config;
  /** The environment `config` was read from (for child processes). */
  env: Record<string, string>;
  db: MigratedDatabase;
  smtp: SmtpCatcher;
  /** A campaign with 5 verified users and 2 pending rewards. */
  campaign: { campaignId: string; accountId: string; userIds: string[]; userRewardIds: string[] };
  /** The real handlers on the stack (one set per call: one per worker). */
  handlers(): { handlers: JobHandlers; close(): void };
  /** A BullMQ queue of the stack's prefix, closed by `close`. */
  queue(name?: string): Queue;
  close(): Promise<void>;
}

/** Starts a stack for one test; `env` overrides any setting. */
export async function legacyStack(
  prefix: string,
  env: Record<string, string> = {},
): Promise<LegacyStack> {
  const db = await migratedDatabase(prefix, { poolMax: 8 });
  const smtp = await startSmtp();
  const settings: Record<string, string> = {
    KAFKA_BROKERS: kafkaBrokers().join(","),
    KAFKA_JOB_TOPIC: uniqueName(prefix),
    KAFKA_JOB_CONSUMER_GROUP: uniqueName(`${prefix}_group`),
    KAFKA_CLIENT_ID: prefix.replaceAll("_", "-"),
    KAFKA_COMMIT_INTERVAL_MS: "100",
    JOB_RETRY_BASE_MS: "50",
    JOB_RETRY_MAX_MS: "200",
    SHUTDOWN_TIMEOUT_MS: "5000",
    BULLMQ_REDIS_URL: redisUrl(),
    BULLMQ_PREFIX: uniqueName(prefix),
    DATABASE_URL: db.url,
    DATABASE_MIGRATE_ON_START: "false",
    SMTP_URL: smtp.url,
    SMTP_TLS_REJECT_UNAUTHORIZED: "false",
    METRICS_PORT: "0",
    ...env,
  };
  const config = loadConfig(settings);
  await ensureTopic({ kafka: config.kafka, partitions: 2 });
  const seeded = await seedCampaign(db.sql, {
    users: 5,
    referrerShare: 0.4,
    pendingRewards: 2,
    name: `Legacy ${prefix}`,
  });
  const users = await db.sql<{ id: string }[]>`
    select id from waitlist_users where campaign_id = ${seeded.campaignId} order by original_position
  `;
  const queues: Queue[] = [];
  return {
    config,
    env: settings,
    db,
    smtp,
    campaign: {
      campaignId: seeded.campaignId,
      accountId: seeded.accountId,
      userIds: users.map((user) => user.id),
      userRewardIds: seeded.userRewardIds,
    },
    handlers() {
      const mailer = createSmtpMailer({ smtp: config.mail.smtp, from: config.mail.from });
      return {
        handlers: createJobHandlers({ sql: db.sql, mailer, config: config.mail }),
        close: () => mailer.close(),
      };
    },
    queue(name = config.legacy.queue) {
      const queue = new Queue(name, {
        connection: { url: config.legacy.redisUrl },
        prefix: config.legacy.prefix,
      });
      queues.push(queue);
      return queue;
    },
    async close() {
      await Promise.allSettled(queues.map((queue) => queue.close()));
      await smtp.stop();
      await db.drop();
    },
  };
}

/** How many messages of the job topic carry each event id (the `job-id` header). */
export async function eventIdsInTopic(config: Config): Promise<Map<string, number>> {
  const kafka = createKafkaClient(config.kafka);
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, bigint>();
  try {
    for (const { partition, high, low } of await admin.fetchTopicOffsets(config.kafka.topic)) {
      if (BigInt(high) > BigInt(low)) ends.set(partition, BigInt(high));
    }
  } finally {
    await admin.disconnect();
  }
  const counts = new Map<string, number>();
  if (ends.size === 0) return counts;
  const consumer = kafka.consumer({ groupId: uniqueName("topic_reader") });
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const timer = setTimeout(() => reject(new Error("Timed out reading the job topic")), 30_000);
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: config.kafka.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        const id = message.headers?.[JOB_HEADERS.id]?.toString() ?? "(none)";
        counts.set(id, (counts.get(id) ?? 0) + 1);
        if (BigInt(message.offset) + 1n >= (ends.get(partition) ?? 0n)) ends.delete(partition);
        if (ends.size === 0) resolve();
        return Promise.resolve();
      },
    });
    await promise;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
  return counts;
}
