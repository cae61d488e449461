/**
 * Position recalculation as one set-based statement.
 *
 * A user's score is `original_position − verified_referrals × points_per_referral`;
 * positions are the ranks of the scores, ties broken by original position, so
 * they stay a permutation 1..N per campaign. Pending referrals do not count.
 *
 * @module
 */

import { abortableQuery, type Sql, type TransactionSql } from "../../db/mod.ts";

/** Options of {@linkcode recalculatePositions}. */
export interface RecalculatePositionsOptions {
  /** The campaign to rank. */
  campaignId: string;
  /** Places a verified referral is worth. */
  pointsPerReferral: number;
  /** Cancels the statement on the server. */
  signal?: AbortSignal;
  /**
   * `work_mem` of the transaction, so that ranking a large campaign sorts in
   * memory (1M users take about 90 MB). @default "256MB"
   */
  workMem?: string;
}

/** What one recalculation did. */
export interface RecalculationResult {
  /** Users in the campaign. */
  users: number;
  /** Users whose stored position changed (the only rows written). */
  changed: number;
}

/**
 * Ranks every user of the campaign and writes the positions that changed.
 * Run it in a transaction that holds the campaign's recalculation lock; it
 * sets `work_mem` for the rest of that transaction.
 */
export async function recalculatePositions(
  sql: Sql | TransactionSql,
  options: RecalculatePositionsOptions,
): Promise<RecalculationResult> {
  const { campaignId, pointsPerReferral } = options;
  await sql`select set_config('work_mem', ${options.workMem ?? "256MB"}, true)`;
  const [row] = await abortableQuery(
    sql<{ users: number; changed: number }[]>`
      with verified as (
        select referrer_id, count(*) as referrals
        from referrals
        where campaign_id = ${campaignId} and status = 'verified'
        group by referrer_id
      ), ranked as (
        select u.id,
          row_number() over (
            order by u.original_position - coalesce(v.referrals, 0) * ${pointsPerReferral}::bigint,
              u.original_position
          ) as new_position,
          u.position as old_position
        from waitlist_users u
        left join verified v on v.referrer_id = u.id
        where u.campaign_id = ${campaignId}
      ), updated as (
        update waitlist_users u
        set position = r.new_position
        from ranked r
        where u.campaign_id = ${campaignId} and u.id = r.id and r.old_position <> r.new_position
        returning 1
      )
      select (select count(*) from ranked)::int as users, (select count(*) from updated)::int as changed
    `,
    options.signal,
  );
  return { users: row?.users ?? 0, changed: row?.changed ?? 0 };
}
