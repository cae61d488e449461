/**
 * The handler of `job.position.recalculate`.
 *
 * One transaction per job: it takes the campaign's advisory lock (so two
 * recalculations of a campaign never overlap), skips the work when nothing
 * that ranks users changed since the last recalculation (so a burst of jobs
 * does it once), recalculates, picks the users worth a `position_update`
 * email, enqueues those follow-ups, and records the event as processed.
 *
 * The "nothing changed" test compares `campaigns.ranking_version`, bumped by
 * triggers on every insert, update or delete of referrals and every insert or
 * delete of waitlist users, with `positions_version`, the version the stored
 * positions were computed from (read before the recalculating statement, so
 * a concurrent change always leaves the campaign behind and is picked up by
 * the job that change enqueues).
 *
 * Points per referral have one source of truth, the campaign's
 * `points_per_referral`, which emails read too. The event says what points
 * apply from its timestamp on: under the lock, its value becomes the
 * campaign's setting, unless the setting changed after the event was created
 * (`points_per_referral_set_at`, stamped by events and by direct updates, and
 * never later than the time of stamping), so a late or replayed older event
 * ranks with the campaign's current points. Events dated more than
 * `MAX_CLOCK_SKEW_MS` in the future do not decode at all.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { PositionUpdateRule } from "../../config/mod.ts";
import { abortableQuery, type TransactionSql } from "../../db/mod.ts";
import {
  type JobEventOf,
  type JobType,
  type NewJobEvent,
  PermanentJobError,
} from "../../jobs/mod.ts";
import type { HandlerDeps } from "../deps.ts";
import type { HandlerContext } from "../handler.ts";
import { derivedUuid, isProcessed, markProcessed } from "../ledger.ts";
import { recalculatePositions } from "./recalculate.ts";

/** The first key of the two-key advisory lock of a campaign's recalculation. */
export const RECALCULATION_LOCK_SPACE = 74_140_312;

/** What a recalculation job did. */
export type RecalculationOutcome =
  | { status: "duplicate" }
  | { status: "up_to_date" }
  | { status: "recalculated"; users: number; changed: number; notified: number };

/**
 * Handles a `job.position.recalculate` event.
 *
 * @throws {PermanentJobError} for an unknown campaign or a payload whose
 * campaign differs from the envelope's.
 */
export async function handlePositionRecalculation(
  deps: HandlerDeps,
  job: JobEventOf<"job.position.recalculate">,
  context: HandlerContext,
): Promise<RecalculationOutcome> {
  const { sql } = deps;
  const campaignId = job.data.campaign_id;
  if (campaignId !== job.campaign_id) {
    throw new PermanentJobError(
      `Invalid job.position.recalculate event: data.campaign_id ${campaignId} differs from campaign_id ${job.campaign_id}`,
    );
  }
  if (await isProcessed(sql, job.id)) {
    context.log.info("Recalculation {eventId} was done before", { eventId: job.id });
    return { status: "duplicate" };
  }
  const outcome = await sql.begin(async (tx) => {
    await abortableQuery(
      tx`select pg_advisory_xact_lock(${RECALCULATION_LOCK_SPACE}::int, hashtext(${campaignId}))`,
      context.signal,
    );
    const [campaign] = await tx<CampaignRankingRow[]>`
      select ranking_version::text, positions_version::text, positions_points_per_referral,
        points_per_referral, points_per_referral_set_at
      from campaigns where id = ${campaignId}
    `;
    if (!campaign) {
      throw new PermanentJobError(
        `Cannot recalculate positions: unknown campaign ${campaignId}`,
      );
    }
    const points = await settlePoints(tx, job, campaign, context.log);
    if (
      campaign.positions_version === campaign.ranking_version &&
      campaign.positions_points_per_referral === points
    ) {
      await markProcessed(tx, job, "up_to_date");
      return { status: "up_to_date" } as const;
    }
    const result = await recalculatePositions(tx, {
      campaignId,
      pointsPerReferral: points,
      signal: context.signal,
    });
    await tx`
      update campaigns
      set positions_version = ${campaign.ranking_version}::bigint,
        positions_points_per_referral = ${points},
        positions_recalculated_at = now()
      where id = ${campaignId}
    `;
    const notified = await notifyImprovedUsers(tx, deps, job);
    await markProcessed(tx, job, "recalculated");
    return { status: "recalculated", ...result, notified } as const;
  });
  if (outcome.status === "up_to_date") {
    context.log.info("Positions of campaign {campaignId} are up to date: nothing to do", {
      campaignId,
    });
  } else {
    context.log.info(
      "Recalculated campaign {campaignId}: {changed} of {users} positions changed, {notified} position emails",
      { campaignId, ...outcome },
    );
  }
  return outcome;
}

/** What a recalculation reads of its campaign. */
interface CampaignRankingRow {
  ranking_version: string;
  positions_version: string | null;
  positions_points_per_referral: number | null;
  points_per_referral: number;
  points_per_referral_set_at: Date | null;
}

/**
 * The points per referral to rank with: the event's, stored as the campaign's
 * setting, unless the setting changed after the event was created; then the
 * campaign's.
 */
async function settlePoints(
  tx: TransactionSql,
  job: JobEventOf<"job.position.recalculate">,
  campaign: CampaignRankingRow,
  log: Logger,
): Promise<number> {
  const requested = job.data.points_per_referral;
  if (requested === campaign.points_per_referral) return requested;
  const eventTime = new Date(job.timestamp);
  const setAt = campaign.points_per_referral_set_at;
  if (setAt !== null && eventTime < setAt) {
    log.warn(
      "Event {eventId} of {eventTime} asks for {requested} points per referral, but the campaign's setting of {setAt} is newer: ranking with {points}",
      { eventId: job.id, eventTime, requested, setAt, points: campaign.points_per_referral },
    );
    return campaign.points_per_referral;
  }
  // Never stamp a time from the future (a skewed producer clock): it would
  // outrank every later change of the setting.
  await tx`
    update campaigns
    set points_per_referral = ${requested},
      points_per_referral_set_at = least(${eventTime}::timestamptz, now())
    where id = ${job.campaign_id}
  `;
  return requested;
}

/**
 * Marks the users the position-update rule picks as notified and enqueues
 * their emails, inside the recalculation's transaction: when enqueueing fails
 * the marks roll back with it, and a retry enqueues the same event ids.
 */
async function notifyImprovedUsers(
  tx: TransactionSql,
  deps: HandlerDeps,
  job: JobEventOf<"job.position.recalculate">,
): Promise<number> {
  const rule: PositionUpdateRule = deps.config.positionUpdates;
  if (!rule.enabled || !deps.enqueue) return 0;
  const users = await tx<{ id: string }[]>`
    with candidates as (
      select id
      from waitlist_users
      where campaign_id = ${job.campaign_id}
        and email_verified_at is not null
        and coalesce(notified_position, original_position) - position >= ${rule.minImprovement}
        and (position_notified_at is null
          or position_notified_at <= now() - ${rule.minIntervalHours} * interval '1 hour')
      order by coalesce(notified_position, original_position) - position desc, position
      limit ${rule.maxPerRecalculation}
    )
    update waitlist_users u
    set notified_position = u.position, position_notified_at = now()
    from candidates c
    where u.id = c.id
    returning u.id
  `;
  if (users.length === 0) return 0;
  const jobs: NewJobEvent<JobType>[] = [];
  for (const user of users) {
    jobs.push({
      id: await derivedUuid(`${job.id}/position_update/${user.id}`),
      type: "job.email.position_update",
      accountId: job.account_id,
      campaignId: job.campaign_id,
      data: {
        type: "position_update",
        campaign_id: job.campaign_id,
        user_id: user.id,
        priority: 3,
      },
    });
  }
  await deps.enqueue(jobs);
  return jobs.length;
}
