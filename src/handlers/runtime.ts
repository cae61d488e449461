/**
 * The handlers as a worker process runs them: migrated database, pooled SMTP
 * mailer, a producer for follow-up jobs (routed like every other job,
 * `JOB_TRANSPORT*`), and the ledger's pruning; and how to close all of it.
 * `deno task worker` and `deno task worker:legacy` both start them here.
 *
 * @module
 */

import type { Config } from "../config/mod.ts";
import { createDatabaseClient, runMigrations } from "../db/mod.ts";
import { createSmtpMailer } from "../mail/mod.ts";
import { logger } from "../observability/logging.ts";
import { createJobProducer } from "../producer/mod.ts";
import type { HandlerMetrics } from "./deps.ts";
import type { JobHandlers } from "./handler.ts";
import { startLedgerPruning } from "./ledger_pruning.ts";
import { createJobHandlers } from "./create_handlers.ts";

/** Started handlers and what closes what they hold open. */
export interface StartedHandlers {
  /** One handler per job type. */
  handlers: JobHandlers;
  /** Stops pruning, disconnects the producer, closes SMTP and the database pool. */
  close(): Promise<void>;
}

const log = logger("handlers");

/**
 * Migrates the database (unless `DATABASE_MIGRATE_ON_START=false`), then
 * builds the handlers with their database pool, mailer and follow-up
 * producer, and starts pruning the ledger.
 */
export async function startJobHandlers(
  config: Config,
  metrics: HandlerMetrics,
): Promise<StartedHandlers> {
  if (config.database.migrateOnStart) {
    await runMigrations({
      url: config.database.url,
      onMigration: ({ name }) => log.info("Applying migration {name}", { name }),
    });
  }
  const sql = createDatabaseClient(config.database);
  const mailer = createSmtpMailer({ smtp: config.mail.smtp, from: config.mail.from });
  const producer = await createJobProducer({ kafka: config.kafka, legacy: config.legacy });
  const handlers = createJobHandlers({
    sql,
    mailer,
    config: config.mail,
    metrics,
    enqueue: (jobs) => producer.enqueueMany(jobs),
  });
  const pruning = startLedgerPruning({
    sql,
    retentionDays: config.database.ledgerRetentionDays,
    log: logger("handlers", "ledger"),
  });
  return {
    handlers,
    close: async () => {
      await pruning.stop();
      await producer.disconnect().catch(() => {});
      mailer.close();
      await sql.end({ timeout: 5 });
    },
  };
}
