/**
 * The handler of `job.email.*` events.
 *
 * @module
 */

import { type JobEventOf, type JobType, PermanentJobError } from "../../jobs/mod.ts";
import type { HandlerDeps } from "../deps.ts";
import type { HandlerContext } from "../handler.ts";
import { deliverEmail } from "./deliver_email.ts";

/** The `job.email.*` types. */
export type EmailJobType = Extract<JobType, `job.email.${string}`>;

/**
 * Handles a `job.email.*` event: sends its email once per event id
 * (`email_deliveries.dedupe_key = 'event:<id>'`).
 */
export async function handleEmailJob(
  deps: HandlerDeps,
  job: JobEventOf<EmailJobType>,
  context: HandlerContext,
): Promise<void> {
  if (job.data.campaign_id !== job.campaign_id) {
    throw new PermanentJobError(
      `Invalid ${job.type} event: data.campaign_id ${job.data.campaign_id} differs from campaign_id ${job.campaign_id}`,
    );
  }
  await deliverEmail({
    sql: deps.sql,
    mailer: deps.mailer,
    config: deps.config,
    kind: job.data.type,
    dedupeKey: `event:${job.id}`,
    eventId: job.id,
    userId: job.data.user_id,
    campaignId: job.data.campaign_id,
    signal: context.signal,
    log: context.log,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
}
