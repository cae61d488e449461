/**
 * The sample job stream of `deno task dev`: every job type in turn, for the
 * demo campaign's users and rewards.
 *
 * @module
 */

import { EMAIL_KINDS, type JobType, type NewJobEvent } from "../src/jobs/mod.ts";

/** What the sample jobs refer to: a seeded campaign. */
export interface DemoCampaign {
  accountId: string;
  campaignId: string;
  pointsPerReferral: number;
  userIds: readonly string[];
  userRewardIds: readonly string[];
  /** Users who hold one of `userRewardIds`: the only ones a reward email can be about. */
  rewardedUserIds: readonly string[];
}

/**
 * Endless jobs cycling through all seven types, round-robin over the
 * campaigns (one campaign's jobs run one at a time, in order; different
 * campaigns run in parallel). Reward deliveries name the seeded user rewards;
 * once each is delivered, later deliveries of it are no-ops.
 */
export function* sampleJobs(
  demos: readonly DemoCampaign[],
): Generator<NewJobEvent<JobType>, never> {
  const streams = demos.map((demo) => campaignJobs(demo));
  if (streams.length === 0) throw new RangeError("Cannot make sample jobs: no campaign given");
  for (let i = 0;; i++) yield streams[i % streams.length]!.next().value;
}

function* campaignJobs(demo: DemoCampaign): Generator<NewJobEvent<JobType>, never> {
  const { accountId, campaignId } = demo;
  for (let i = 0;; i++) {
    const userId = demo.userIds[i % demo.userIds.length] ?? crypto.randomUUID();
    for (const kind of EMAIL_KINDS) {
      const rewarded = demo.rewardedUserIds[i % Math.max(1, demo.rewardedUserIds.length)];
      if (kind === "reward_earned" && !rewarded) continue;
      yield {
        type: `job.email.${kind}`,
        accountId,
        campaignId,
        data: {
          type: kind,
          campaign_id: campaignId,
          user_id: kind === "reward_earned" ? rewarded : userId,
          priority: 1,
        },
      } as NewJobEvent<JobType>;
    }
    yield {
      type: "job.position.recalculate",
      accountId,
      campaignId,
      data: { campaign_id: campaignId, points_per_referral: demo.pointsPerReferral },
    };
    const userRewardId = demo.userRewardIds[i % Math.max(1, demo.userRewardIds.length)];
    if (userRewardId) {
      yield {
        type: "job.reward.deliver",
        accountId,
        campaignId,
        data: { user_reward_id: userRewardId },
      };
    }
  }
}
