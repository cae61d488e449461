/**
 * What the job handlers need from the process that runs them.
 *
 * @module
 */

import type { MailConfig } from "../config/mod.ts";
import type { Sql } from "../db/mod.ts";
import type { JobType, NewJobEvent } from "../jobs/mod.ts";
import type { Mailer } from "../mail/mod.ts";

/**
 * Enqueues follow-up jobs in one batch; resolves to their event ids. The
 * worker passes `createJobProducer(...).enqueueMany`.
 */
export type Enqueue = (jobs: readonly NewJobEvent<JobType>[]) => Promise<string[]>;

/** The dependencies of {@linkcode createJobHandlers}. */
export interface HandlerDeps {
  /** The PostgreSQL pool (`createDatabaseClient(config.database)`), migrated. */
  sql: Sql;
  /** Where emails go (`createSmtpMailer({ smtp: config.mail.smtp, from: config.mail.from })`). */
  mailer: Mailer;
  /** Links, secrets, webhook and position-update settings (`config.mail`). */
  config: MailConfig;
  /**
   * Enqueues `job.email.position_update` follow-ups after a recalculation.
   * Without it, recalculations send no position emails.
   */
  enqueue?: Enqueue;
  /** Where the handlers count what the worker's metrics cannot see. */
  metrics?: HandlerMetrics;
  /** The HTTP client of reward webhooks. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** What the handlers count (the worker wires these to Prometheus). */
export interface HandlerMetrics {
  /**
   * An email of `kind` is sent although an earlier send of it may have gone
   * out (its outcome was never recorded): a possible duplicate.
   */
  emailPossibleDuplicate(kind: string): void;
}
