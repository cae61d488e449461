/**
 * The row-by-row position recalculation the benchmark compares the set-based
 * one with: one query per user for its verified referrals, the ranking in
 * memory, and one UPDATE per user whose position changed, in one transaction.
 * Same result as `recalculatePositions`, the way an ORM loop would do it.
 *
 * @module
 */

import type { Sql } from "../../src/db/mod.ts";

/** What one row-by-row recalculation did. */
export interface RowByRowResult {
  users: number;
  changed: number;
  /** Statements sent to the server. */
  statements: number;
}

/** Recalculates `campaignId` one row at a time. */
export async function recalculateRowByRow(
  sql: Sql,
  options: { campaignId: string; pointsPerReferral: number },
): Promise<RowByRowResult> {
  return await sql.begin(async (tx) => {
    let statements = 1;
    const users = await tx<{ id: string; original_position: number; position: number }[]>`
      select id, original_position, position from waitlist_users
      where campaign_id = ${options.campaignId}
    `;
    const scored: { id: string; original: number; position: number; score: number }[] = [];
    for (const user of users) {
      const [row] = await tx<{ referrals: number }[]>`
        select count(*)::int as referrals from referrals
        where campaign_id = ${options.campaignId} and referrer_id = ${user.id} and status = 'verified'
      `;
      statements++;
      scored.push({
        id: user.id,
        original: user.original_position,
        position: user.position,
        score: user.original_position - (row?.referrals ?? 0) * options.pointsPerReferral,
      });
    }
    scored.sort((a, b) => a.score - b.score || a.original - b.original || (a.id < b.id ? -1 : 1));
    let changed = 0;
    for (const [index, user] of scored.entries()) {
      if (user.position === index + 1) continue;
      await tx`update waitlist_users set position = ${index + 1} where id = ${user.id}`;
      statements++;
      changed++;
    }
    return { users: users.length, changed, statements };
  });
}
