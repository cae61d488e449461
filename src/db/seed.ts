/**
 * Demo and test data: a campaign with users and referrals, made by set-based
 * SQL (`generate_series`) so that a million users take seconds.
 *
 * @module
 */

import type { Sql } from "./client.ts";

/** Options of {@linkcode seedCampaign}. */
export interface SeedCampaignOptions {
  /** Users on the waitlist, original positions 1..users. */
  users: number;
  /** Share of users (0..1) with at least one verified referral. @default 0.1 */
  referrerShare?: number;
  /** Referrals per referrer at most (the first is verified, each other one verified at 70 %). @default 4 */
  maxReferralsPerReferrer?: number;
  /** @default 1 */
  pointsPerReferral?: number;
  /** @default "Demo campaign" */
  name?: string;
  /** @default a random UUID */
  accountId?: string;
  /** Email domain of the users. @default "example.com" */
  emailDomain?: string;
  /** Share of users (0..1) whose email is verified. @default 1 */
  verifiedEmailShare?: number;
  /** Pending user rewards for the best-placed referrers (needs positions), one reward row. @default 0 */
  pendingRewards?: number;
  /** The reward's webhook URL, when it has one. */
  rewardWebhookUrl?: string;
  /** Seed of PostgreSQL's `random()`, -1..1, for repeatable data. @default 0.42 */
  randomSeed?: number;
}

/** What {@linkcode seedCampaign} made. */
export interface SeededCampaign {
  campaignId: string;
  accountId: string;
  users: number;
  referrals: { verified: number; pending: number };
  /** Ids of the pending user rewards, when asked for. */
  userRewardIds: string[];
}

/**
 * Creates a campaign with `options.users` users and referrals between them,
 * in one transaction. Positions start equal to original positions.
 */
export async function seedCampaign(
  sql: Sql,
  options: SeedCampaignOptions,
): Promise<SeededCampaign> {
  const {
    users,
    referrerShare = 0.1,
    maxReferralsPerReferrer = 4,
    pointsPerReferral = 1,
    name = "Demo campaign",
    accountId = crypto.randomUUID(),
    emailDomain = "example.com",
    verifiedEmailShare = 1,
    pendingRewards = 0,
    randomSeed = 0.42,
  } = options;
  if (!Number.isInteger(users) || users < 1) {
    throw new RangeError(`Cannot seed a campaign: users must be a positive integer, got ${users}`);
  }
  return await sql.begin(async (tx) => {
    await tx`select setseed(${randomSeed})`;
    const [campaign] = await tx<{ id: string }[]>`
      insert into campaigns (account_id, name, points_per_referral)
      values (${accountId}, ${name}, ${pointsPerReferral})
      returning id
    `;
    const campaignId = campaign!.id;
    const codePrefix = campaignId.slice(0, 8);
    await tx`
      insert into waitlist_users
        (campaign_id, email, original_position, position, referral_code, email_verified_at,
         created_at)
      select ${campaignId}, 'user' || g || '@' || ${emailDomain}, g, g,
        ${codePrefix} || '-' || g,
        case when random() < ${verifiedEmailShare} then now() end,
        now() - (${users} - g) * interval '1 second'
      from generate_series(1, ${users}::int) g
    `;
    await tx`
      create temporary table seed_referrers on commit drop as
      select id, 1 + floor(random() * ${maxReferralsPerReferrer})::int as referrals
      from waitlist_users
      where campaign_id = ${campaignId} and random() < ${referrerShare}
    `;
    await tx`
      with slots as (
        select r.id as referrer_id, s,
          row_number() over (order by random()) as n
        from seed_referrers r, generate_series(1, r.referrals) s
      ), candidates as (
        select u.id, row_number() over (order by random()) as n
        from waitlist_users u
        where u.campaign_id = ${campaignId}
          and not exists (select 1 from seed_referrers r where r.id = u.id)
      ), pairs as (
        select s.referrer_id, c.id as referred_id,
          case when s.s = 1 or random() < 0.7 then 'verified' else 'pending' end as status
        from slots s join candidates c using (n)
      )
      insert into referrals (campaign_id, referrer_id, referred_id, status, verified_at)
      select ${campaignId}, referrer_id, referred_id, status,
        case when status = 'verified' then now() end
      from pairs
    `;
    await tx`
      update waitlist_users u set referred_by = r.referrer_id
      from referrals r
      where r.referred_id = u.id and r.campaign_id = ${campaignId}
    `;
    const [counts] = await tx<{ verified: number; pending: number }[]>`
      select count(*) filter (where status = 'verified')::int as verified,
        count(*) filter (where status = 'pending')::int as pending
      from referrals where campaign_id = ${campaignId}
    `;
    let userRewardIds: string[] = [];
    if (pendingRewards > 0) {
      const [reward] = await tx<{ id: string }[]>`
        insert into rewards (campaign_id, name, description, webhook_url)
        values (${campaignId}, 'Early access', 'Skip the line: your account opens first.',
          ${options.rewardWebhookUrl ?? null})
        returning id
      `;
      const rows = await tx<{ id: string }[]>`
        insert into user_rewards (user_id, reward_id)
        select r.id, ${reward!.id}
        from seed_referrers r join waitlist_users u on u.id = r.id
        order by r.referrals desc, u.original_position
        limit ${pendingRewards}
        returning id
      `;
      userRewardIds = rows.map((row) => row.id);
    }
    return {
      campaignId,
      accountId,
      users,
      referrals: { verified: counts?.verified ?? 0, pending: counts?.pending ?? 0 },
      userRewardIds,
    };
  });
}
