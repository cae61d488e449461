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
  /** Points per referral of the campaign. @default 1 */
  pointsPerReferral?: number;
  /** The campaign's name. @default "Demo campaign" */
  name?: string;
  /** The campaign's account. @default a random UUID */
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
  /** The campaign created. */
  campaignId: string;
  /** Its account. */
  accountId: string;
  /** Users created. */
  users: number;
  /** Referrals created, by status. */
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
    await tx`set local work_mem = '256MB'`;
    // Plan users and referral pairs in temporary tables first, so that every
    // user row is written once, referred_by included.
    await tx`
      create temporary table seed_users on commit drop as
      select g as original_position, gen_random_uuid() as id,
        case when random() < ${referrerShare}
          then 1 + floor(random() * ${maxReferralsPerReferrer})::int else 0 end as referrals
      from generate_series(1, ${users}::int) g
    `;
    await tx`
      create temporary table seed_pairs on commit drop as
      with slots as (
        select u.id as referrer_id, s, row_number() over (order by random()) as n
        from seed_users u, generate_series(1, u.referrals) s
      ), candidates as (
        select id, row_number() over (order by random()) as n
        from seed_users where referrals = 0
      )
      select s.referrer_id, c.id as referred_id,
        case when s.s = 1 or random() < 0.7 then 'verified' else 'pending' end as status
      from slots s join candidates c using (n)
    `;
    await tx`
      insert into waitlist_users
        (id, campaign_id, email, original_position, position, referral_code, referred_by,
         email_verified_at, created_at)
      select u.id, ${campaignId}, 'user' || u.original_position || '@' || ${emailDomain},
        u.original_position, u.original_position, ${codePrefix} || '-' || u.original_position,
        p.referrer_id, case when random() < ${verifiedEmailShare} then now() end,
        now() - (${users} - u.original_position) * interval '1 second'
      from seed_users u left join seed_pairs p on p.referred_id = u.id
      order by u.original_position
    `;
    await tx`
      insert into referrals (campaign_id, referrer_id, referred_id, status, verified_at)
      select ${campaignId}, referrer_id, referred_id, status,
        case when status = 'verified' then now() end
      from seed_pairs
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
        select id, ${reward!.id} from seed_users
        where referrals > 0
        order by referrals desc, original_position
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
