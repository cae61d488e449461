/**
 * The job handlers: email on SMTP, position recalculation and reward delivery
 * on PostgreSQL. A worker process starts them with what they hold open:
 *
 * ```ts
 * const { handlers, close } = await startJobHandlers(config, metrics);
 * ```
 *
 * or builds them from its own database pool and mailer with
 * `createJobHandlers({ sql, mailer, config: config.mail, enqueue })`.
 *
 * Every handler is safe to run twice for the same event (Kafka delivers at
 * least once): email jobs are recorded per event id in `email_deliveries`,
 * recalculations and reward deliveries in `processed_events`.
 *
 * @module
 */

export { createJobHandlers } from "./create_handlers.ts";
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

export { type StartedHandlers, startJobHandlers } from "./runtime.ts";
