/**
 * The handler of `job.reward.deliver`.
 *
 * A user reward moves `pending → delivering → delivered` exactly once. The
 * move to `delivering` is a conditional update that only one worker can win
 * (it also takes over a claim whose lease ran out: the lease is
 * `CLAIM_LEASE_MS`, renewed while the delivery runs, so a crashed holder's
 * claim ends that long after the crash at most); the winner
 * posts the signed webhook (when the reward has a URL), sends the
 * `reward_earned` email (idempotent on `reward:<user reward id>`), and sets
 * `delivered` only while it still holds the claim. Each step is recorded, so a
 * retry after a failure does not repeat the steps that succeeded.
 *
 * @module
 */

import { type JobEventOf, LeaseHeldError, PermanentJobError } from "../../jobs/mod.ts";
import type { HandlerDeps } from "../deps.ts";
import { deliverEmail } from "../email/mod.ts";
import type { HandlerContext } from "../handler.ts";
import { keepLease } from "../lease.ts";
import { isProcessed, markProcessed } from "../ledger.ts";
import { postSignedWebhook } from "./webhook.ts";

/** What a reward delivery job did. */
export type RewardDeliveryOutcome =
  /** This job delivered it. */
  | { status: "delivered" }
  /** It was delivered before, by this event or another. */
  | { status: "already_delivered" }
  /** Another worker's claim ran out and was taken over while this one worked. */
  | { status: "claim_lost" };

/** The user reward as claimed. */
interface ClaimedReward {
  user_id: string;
  campaign_id: string;
  email: string;
  reward_id: string;
  reward_name: string;
  reward_description: string;
  webhook_url: string | null;
  email_sent_at: Date | null;
  webhook_delivered_at: Date | null;
  delivery_attempts: number;
}

/** A won claim on a user reward: its token and what the claim read. */
interface RewardClaim {
  token: string;
  reward: ClaimedReward;
}

/**
 * Handles a `job.reward.deliver` event: claim the user reward, deliver it
 * (webhook, then email), record it as delivered.
 *
 * @throws {PermanentJobError} for an unknown user reward, one that failed for
 * good before, or a webhook or mail server that refuses it.
 * @throws {LeaseHeldError} while another worker is delivering it.
 */
export async function handleRewardDelivery(
  deps: HandlerDeps,
  job: JobEventOf<"job.reward.deliver">,
  context: HandlerContext,
): Promise<RewardDeliveryOutcome> {
  if (await isProcessed(deps.sql, job.id)) {
    context.log.info("Reward delivery {eventId} was done before", { eventId: job.id });
    return { status: "already_delivered" };
  }
  const claim = await claimReward(deps, job);
  if (!claim) return await notClaimed(deps, job, context);
  const lease = keepLease({
    leaseMs: deps.config.claimLeaseMs,
    renew: () => renewClaim(deps, job.data.user_reward_id, claim.token),
  });
  // Not a spread: the worker's context has its log and signal as getters.
  const delivery: HandlerContext = {
    signal: AbortSignal.any([context.signal, lease.lost]),
    log: context.log,
    attempt: context.attempt,
  };
  try {
    await postRewardWebhook(deps, job, delivery, claim);
    await sendRewardEmail(deps, job, delivery, claim);
  } catch (error) {
    lease.release();
    await release(deps, {
      userRewardId: job.data.user_reward_id,
      token: claim.token,
      status: error instanceof PermanentJobError ? "failed" : "pending",
      error: error instanceof Error ? error.message : String(error),
    }).catch((releaseError) => {
      context.log.warn("Cannot release the claim on {userRewardId}: {error}", {
        userRewardId: job.data.user_reward_id,
        error: String(releaseError),
      });
    });
    throw error;
  }
  try {
    return await recordDelivered(deps, job, context, claim);
  } finally {
    lease.release();
  }
}

/** Extends the claim's lease; false when the claim is no longer this holder's. */
async function renewClaim(
  deps: HandlerDeps,
  userRewardId: string,
  token: string,
): Promise<boolean> {
  const rows = await deps.sql`
    update user_rewards
    set claimed_until = now() + ${deps.config.claimLeaseMs} * interval '1 millisecond'
    where id = ${userRewardId} and claim_token = ${token} and status = 'delivering'
    returning 1
  `;
  return rows.length > 0;
}

/**
 * Moves the user reward to `delivering` for a lease, when it is `pending` or
 * its last claim ran out; undefined when another worker holds it or it is
 * not deliverable.
 *
 * @throws {PermanentJobError} when it belongs to another campaign than the event's.
 */
async function claimReward(
  deps: HandlerDeps,
  job: JobEventOf<"job.reward.deliver">,
): Promise<RewardClaim | undefined> {
  const { config } = deps;
  const userRewardId = job.data.user_reward_id;
  const token = crypto.randomUUID();
  const leaseMs = config.claimLeaseMs;
  const [reward] = await deps.sql<ClaimedReward[]>`
    with claimed as (
      update user_rewards
      set status = 'delivering', claim_token = ${token},
        claimed_until = now() + ${leaseMs} * interval '1 millisecond',
        delivery_attempts = delivery_attempts + 1
      where id = ${userRewardId}
        and (status = 'pending' or (status = 'delivering' and claimed_until < now()))
      returning *
    )
    select c.user_id, u.campaign_id, u.email, r.id as reward_id, r.name as reward_name,
      r.description as reward_description, r.webhook_url, c.email_sent_at,
      c.webhook_delivered_at, c.delivery_attempts
    from claimed c
    join waitlist_users u on u.id = c.user_id
    join rewards r on r.id = c.reward_id
  `;
  if (!reward) return undefined;
  if (reward.campaign_id !== job.campaign_id) {
    await release(deps, { userRewardId, token, status: "pending", error: "wrong campaign" });
    throw new PermanentJobError(
      `User reward ${userRewardId} belongs to campaign ${reward.campaign_id}, not ${job.campaign_id}`,
    );
  }
  return { token, reward };
}

/** Posts the signed webhook, when the reward has a URL and it was not posted before. */
async function postRewardWebhook(
  deps: HandlerDeps,
  job: JobEventOf<"job.reward.deliver">,
  context: HandlerContext,
  { token, reward }: RewardClaim,
): Promise<void> {
  if (!reward.webhook_url || reward.webhook_delivered_at) return;
  const userRewardId = job.data.user_reward_id;
  const { rewardWebhooks } = deps.config;
  const status = await postSignedWebhook({
    url: reward.webhook_url,
    deliveryId: userRewardId,
    body: {
      type: "reward.delivered",
      user_reward_id: userRewardId,
      reward: { id: reward.reward_id, name: reward.reward_name },
      user: { id: reward.user_id, email: reward.email },
      campaign_id: reward.campaign_id,
      account_id: job.account_id,
      event_id: job.id,
    },
    secret: rewardWebhooks.signingSecret,
    timeoutMs: rewardWebhooks.timeoutMs,
    attempts: rewardWebhooks.attempts,
    signal: context.signal,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  await deps.sql`
    update user_rewards set webhook_delivered_at = now()
    where id = ${userRewardId} and claim_token = ${token}
  `;
  context.log.info("Reward webhook for {userRewardId} answered HTTP {status}", {
    userRewardId,
    status,
  });
}

/**
 * Sends the `reward_earned` email (idempotent on `reward:<user reward id>`)
 * unless it was sent before, and records it once it is out.
 */
async function sendRewardEmail(
  deps: HandlerDeps,
  job: JobEventOf<"job.reward.deliver">,
  context: HandlerContext,
  { token, reward }: RewardClaim,
): Promise<void> {
  if (reward.email_sent_at) return;
  const userRewardId = job.data.user_reward_id;
  const email = await deliverEmail({
    sql: deps.sql,
    mailer: deps.mailer,
    config: deps.config,
    kind: "reward_earned",
    dedupeKey: `reward:${userRewardId}`,
    eventId: job.id,
    userId: reward.user_id,
    campaignId: reward.campaign_id,
    reward: { name: reward.reward_name, description: reward.reward_description },
    signal: context.signal,
    log: context.log,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
  const sent = email.status === "sent" ||
    (email.status === "duplicate" && email.previous === "sent");
  if (!sent) return;
  await deps.sql`
    update user_rewards set email_sent_at = now()
    where id = ${userRewardId} and claim_token = ${token}
  `;
}

/** Sets `delivered` while the claim still holds, and records the event as processed. */
async function recordDelivered(
  deps: HandlerDeps,
  job: JobEventOf<"job.reward.deliver">,
  context: HandlerContext,
  { token, reward }: RewardClaim,
): Promise<RewardDeliveryOutcome> {
  const userRewardId = job.data.user_reward_id;
  const delivered = await deps.sql.begin(async (tx) => {
    const rows = await tx`
      update user_rewards
      set status = 'delivered', delivered_at = now(), claim_token = null, claimed_until = null,
        last_error = null
      where id = ${userRewardId} and status = 'delivering' and claim_token = ${token}
      returning id
    `;
    await markProcessed(tx, job, rows.length > 0 ? "delivered" : "claim_lost");
    return rows.length > 0;
  });
  if (!delivered) {
    context.log.warn("Lost the claim on user reward {userRewardId} while delivering it", {
      userRewardId,
    });
    return { status: "claim_lost" };
  }
  context.log.info("Delivered user reward {userRewardId} (attempt {attempts})", {
    userRewardId,
    attempts: reward.delivery_attempts,
  });
  return { status: "delivered" };
}

/** Explains why the claim was not won: delivered, failed, unknown, or busy elsewhere. */
async function notClaimed(
  deps: HandlerDeps,
  job: JobEventOf<"job.reward.deliver">,
  context: HandlerContext,
): Promise<RewardDeliveryOutcome> {
  const userRewardId = job.data.user_reward_id;
  const [row] = await deps.sql<
    { status: string; last_error: string | null; wait_ms: number | null }[]
  >`
    select status, last_error,
      (extract(epoch from claimed_until - now()) * 1000)::int as wait_ms
    from user_rewards where id = ${userRewardId}
  `;
  if (!row) {
    throw new PermanentJobError(`Cannot deliver reward: unknown user reward ${userRewardId}`);
  }
  if (row.status === "delivered") {
    await markProcessed(deps.sql, job, "already_delivered");
    context.log.info("User reward {userRewardId} was delivered before", { userRewardId });
    return { status: "already_delivered" };
  }
  if (row.status === "failed") {
    throw new PermanentJobError(
      `Cannot deliver reward: user reward ${userRewardId} failed before (${row.last_error}); set its status back to pending to try again`,
    );
  }
  throw new LeaseHeldError(
    `User reward ${userRewardId} is being delivered by another worker: waiting for its lease`,
    { retryAfterMs: Math.max(250, (row.wait_ms ?? 0) + 50) },
  );
}

/** Gives the claim back: `pending` for a retry, `failed` for good. */
async function release(
  deps: HandlerDeps,
  options: { userRewardId: string; token: string; status: "pending" | "failed"; error: string },
): Promise<void> {
  await deps.sql`
    update user_rewards
    set status = ${options.status}, claim_token = null, claimed_until = null,
      last_error = ${options.error}
    where id = ${options.userRewardId} and claim_token = ${options.token}
  `;
}
