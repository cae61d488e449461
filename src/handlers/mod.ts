/**
 * The job handlers: email on SMTP, position recalculation and reward delivery
 * on PostgreSQL. The worker builds them once:
 *
 * ```ts
 * const sql = createDatabaseClient(config.database);
 * if (config.database.migrateOnStart) await runMigrations({ url: config.database.url });
 * const mailer = createSmtpMailer({ smtp: config.mail.smtp, from: config.mail.from });
 * const handlers = createJobHandlers({
 *   sql,
 *   mailer,
 *   config: config.mail,
 *   enqueue: (jobs) => producer.enqueueMany(jobs),
 * });
 * ```
 *
 * Every handler is safe to run twice for the same event (Kafka delivers at
 * least once): email jobs are recorded per event id in `email_deliveries`,
 * recalculations and reward deliveries in `processed_events`.
 *
 * @module
 */

import type { HandlerDeps } from "./deps.ts";
import { handleEmailJob } from "./email/mod.ts";
import type { JobHandlers } from "./handler.ts";
import { handlePositionRecalculation } from "./positions/mod.ts";
import { handleRewardDelivery } from "./rewards/mod.ts";
import { reportingOutages } from "./outages.ts";

export type { Enqueue, HandlerDeps, HandlerMetrics } from "./deps.ts";
export { asOutage, DEPENDENCIES, reportingOutages } from "./outages.ts";
export { keepLease, type KeepLeaseOptions, type Lease, LeaseLostError } from "./lease.ts";
export type { HandlerContext, JobHandler, JobHandlers, PartialJobHandlers } from "./handler.ts";
export { derivedUuid, pruneLedger, type PruneLedgerOptions } from "./ledger.ts";
export {
  type LedgerPruning,
  type LedgerPruningOptions,
  startLedgerPruning,
} from "./ledger_pruning.ts";

/**
 * One handler per job type, sharing `deps`; their outages (PostgreSQL, SMTP,
 * the broker) are reported as `DependencyUnavailableError`s.
 */
export function createJobHandlers(deps: HandlerDeps): JobHandlers {
  return reportingOutages({
    "job.email.verification": (job, context) => handleEmailJob(deps, job, context),
    "job.email.welcome": (job, context) => handleEmailJob(deps, job, context),
    "job.email.position_update": (job, context) => handleEmailJob(deps, job, context),
    "job.email.reward_earned": (job, context) => handleEmailJob(deps, job, context),
    "job.email.milestone": (job, context) => handleEmailJob(deps, job, context),
    "job.position.recalculate": async (job, context) => {
      await handlePositionRecalculation(deps, job, context);
    },
    "job.reward.deliver": async (job, context) => {
      await handleRewardDelivery(deps, job, context);
    },
  });
}
