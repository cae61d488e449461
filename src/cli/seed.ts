/**
 * `deno task seed`: a demo campaign with users, referrals and pending
 * rewards in `DATABASE_URL`, for local runs of the worker.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { loadConfig } from "../config/mod.ts";
import { createDatabaseClient, runMigrations, seedCampaign } from "../db/mod.ts";
import { EXIT, runCli, UsageError } from "./common.ts";

const HELP = `Usage: deno task seed [options]

Migrates DATABASE_URL, then creates a campaign with users (original positions
1..N), referrals between them (some verified, some pending) and pending
rewards for the best referrers. Prints the ids and jobs to try.

Options:
  --users <n>            users on the waitlist                    default: 1000
  --referrer-share <x>   share of users with verified referrals   default: 0.1
  --points <n>           points per referral                      default: 1
  --name <text>          campaign name                            default: "Demo campaign"
  --rewards <n>          pending user rewards                     default: 5
  --webhook-url <url>    the reward's webhook URL                 default: none
  -h, --help             show this help`;

/** The parsed command line of `seed`. */
export interface SeedArgs {
  /** `--help` was given: print the usage and do nothing else. */
  help: boolean;
  /** `--users`: users on the waitlist. */
  users: number;
  /** `--referrer-share`: share of users (0..1) with verified referrals. */
  referrerShare: number;
  /** `--points`: points per referral. */
  points: number;
  /** `--name`: the campaign's name. */
  name: string;
  /** `--rewards`: pending user rewards to create. */
  rewards: number;
  /** `--webhook-url`: the reward's webhook URL, if any. */
  webhookUrl: string | undefined;
}

/** Parses `seed`'s arguments. @throws {UsageError} naming the bad flag. */
export function parseSeedArgs(args: string[]): SeedArgs {
  const { values } = parseArgs({
    args,
    options: {
      users: { type: "string", default: "1000" },
      "referrer-share": { type: "string", default: "0.1" },
      points: { type: "string", default: "1" },
      name: { type: "string", default: "Demo campaign" },
      rewards: { type: "string", default: "5" },
      "webhook-url": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const share = Number(values["referrer-share"]);
  if (!(share >= 0 && share <= 1)) {
    throw new UsageError(
      `--referrer-share must be between 0 and 1, got "${values["referrer-share"]}"`,
    );
  }
  const webhookUrl = values["webhook-url"];
  if (webhookUrl !== undefined && !/^https?:\/\//.test(webhookUrl)) {
    throw new UsageError(`--webhook-url must be an http(s) URL, got "${webhookUrl}"`);
  }
  return {
    help: values.help,
    users: whole(values.users, "--users", 1),
    referrerShare: share,
    points: whole(values.points, "--points", 0),
    name: values.name,
    rewards: whole(values.rewards, "--rewards", 0),
    webhookUrl,
  };
}

function whole(value: string, flag: string, min: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min) {
    throw new UsageError(`${flag} must be a whole number >= ${min}, got "${value}"`);
  }
  return Number(value);
}

/** Runs `seed` with `args`; resolves to the exit code. */
export async function seedMain(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<number> {
  const parsed = parseSeedArgs(args);
  if (parsed.help) {
    console.log(HELP);
    return EXIT.ok;
  }
  const config = loadConfig(env);
  await runMigrations({
    url: config.database.url,
    connectTimeoutSeconds: config.database.connectTimeoutSeconds,
  });
  const sql = createDatabaseClient(config.database, { max: 2, applicationName: "jobpool-seed" });
  try {
    const started = performance.now();
    const seeded = await seedCampaign(sql, {
      users: parsed.users,
      referrerShare: parsed.referrerShare,
      pointsPerReferral: parsed.points,
      name: parsed.name,
      pendingRewards: parsed.rewards,
      randomSeed: Math.random() * 2 - 1,
      ...(parsed.webhookUrl ? { rewardWebhookUrl: parsed.webhookUrl } : {}),
    });
    const [user] = await sql<{ id: string }[]>`
      select id from waitlist_users where campaign_id = ${seeded.campaignId}
      order by original_position limit 1
    `;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const ids = `--campaign ${seeded.campaignId} --account ${seeded.accountId}`;
    console.log(
      [
        `Seeded "${parsed.name}" in ${seconds} s: ${seeded.users} users, ${seeded.referrals.verified} verified and ${seeded.referrals.pending} pending referrals, ${seeded.userRewardIds.length} pending rewards`,
        `campaign: ${seeded.campaignId}`,
        `account:  ${seeded.accountId}`,
        `Try:`,
        `  deno task enqueue job.position.recalculate ${ids} --points ${parsed.points}`,
        `  deno task enqueue job.email.welcome ${ids} --user ${user?.id}`,
        ...seeded.userRewardIds.slice(0, 1).map((id) =>
          `  deno task enqueue job.reward.deliver ${ids} --user-reward ${id}`
        ),
      ].join("\n"),
    );
    return EXIT.ok;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

if (import.meta.main) await runCli((args) => seedMain(args, Deno.env.toObject()));
