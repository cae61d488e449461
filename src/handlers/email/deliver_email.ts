/**
 * Sending one email exactly once per idempotency key: the recipient and
 * campaign are loaded from the database, the key is claimed in
 * `email_deliveries` under a short lease (`CLAIM_LEASE_MS`, renewed while
 * the send runs), the message is sent, and the SMTP message id is recorded.
 * A key already `sent` or `skipped` is never sent again; a `failed` one sent
 * nothing, so it can be claimed again (a dead letter replayed once its cause
 * is fixed sends the email).
 *
 * The claim goes back to `pending` (a retry may send at once) only when the
 * message surely did not go out: the server refused it, or no connection was
 * made. When the send is cut off with the message possibly on its way (a
 * timeout, a lost connection, an abort), the claim is held for one more SMTP
 * timeout, the time that exchange may still take to finish, and the retry
 * waits for it. A holder that dies stops renewing: its claim ends at most one
 * lease later.
 *
 * What remains is a window, not a guarantee: a message the server accepted
 * whose record was never written (the process died in between, or the send
 * was cut off after the server took it) is sent again by the next claim. Such
 * a resend is logged and counted (`jobpool_email_possible_duplicates_total`),
 * and carries the same `Message-ID` (derived from the key), so mail systems
 * that deduplicate by it can collapse the copies.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import { delay } from "../../async/mod.ts";
import type { MailConfig } from "../../config/mod.ts";
import type { Sql } from "../../db/mod.ts";
import { type EmailKind, LeaseHeldError, PermanentJobError } from "../../jobs/mod.ts";
import { type Mailer, MailSendError, type SentMail } from "../../mail/mod.ts";
import type { HandlerMetrics } from "../deps.ts";
import { keepLease, type Lease } from "../lease.ts";
import { nextMilestone, reachedMilestone } from "./milestone.ts";
import { type EmailTemplateData, type RenderedEmail, renderEmail } from "./templates.ts";
import { createVerificationToken, verificationLink } from "./verification_link.ts";

/** What {@linkcode deliverEmail} did. */
export type EmailOutcome =
  | { status: "sent"; messageId: string }
  /** The key was handled before (sent or skipped). */
  | { status: "duplicate"; previous: string }
  /** Nothing to say: the user is verified already, or was told of this milestone. */
  | { status: "skipped"; reason: string };

/** Options of {@linkcode deliverEmail}. */
export interface DeliverEmailOptions {
  /** The PostgreSQL pool. */
  sql: Sql;
  /** Where the email goes out. */
  mailer: Mailer;
  /** Links, secrets and SMTP timeouts. */
  config: MailConfig;
  /** Which template to send. */
  kind: EmailKind;
  /** `event:<job id>` for email jobs, `reward:<user reward id>` for reward emails. */
  dedupeKey: string;
  /** The job event asking for it, recorded and sent as `X-Jobpool-Event`. */
  eventId: string;
  /** The recipient. */
  userId: string;
  /** The recipient's campaign; a user of another campaign is unknown. */
  campaignId: string;
  /** Reward emails sent by a reward delivery: the reward delivered. */
  reward?: { name: string; description: string };
  /** The job's signal: aborts the send (the claim is then held one more SMTP timeout). */
  signal: AbortSignal;
  /** Where the handler logs. */
  log: Logger;
  /** Where possible duplicates are counted. */
  metrics?: HandlerMetrics;
}

/** The user and campaign an email is about. */
interface RecipientRow {
  id: string;
  email: string;
  name: string | null;
  position: number;
  original_position: number;
  referral_code: string;
  email_verified_at: Date | null;
  milestone_notified: number;
  campaign_name: string;
  points_per_referral: number;
  milestone_thresholds: number[];
  verified_referrals: number;
}

/** States a key never leaves; `failed` is not one of them (nothing was sent). */
const FINISHED = ["sent", "skipped"];

/**
 * Sends the email of `options.kind` to `options.userId`, once per
 * `options.dedupeKey`: claim the key, send, record.
 *
 * @throws {PermanentJobError} for an unknown user, a missing reward, or a
 * 5xx reply (recorded as `failed`).
 * @throws {LeaseHeldError} while another worker holds the key's claim.
 * @throws {MailSendError} (retryable) for a 4xx reply or an unreachable server.
 */
export async function deliverEmail(options: DeliverEmailOptions): Promise<EmailOutcome> {
  const { kind, dedupeKey, log } = options;
  const token = crypto.randomUUID();
  const { recipient, previous, claimed } = await loadAndClaim(options, token);
  if (previous && FINISHED.includes(previous)) {
    log.info("Email {dedupeKey} was handled before ({status}): not sending it again", {
      dedupeKey,
      status: previous,
    });
    return { status: "duplicate", previous };
  }
  if (!recipient) {
    throw new PermanentJobError(
      `Cannot send the ${kind} email: unknown user ${options.userId} in campaign ${options.campaignId}`,
    );
  }
  if (!claimed) return await claimHeld(options.sql, dedupeKey, log);
  const claim: Claim = {
    token,
    lease: keepLease({
      leaseMs: options.config.claimLeaseMs,
      renew: () => renewClaim(options, token),
    }),
  };
  try {
    const data = await claimedTemplateData(options, claim, recipient);
    if (typeof data === "string") return await recordSkipped(options, data);
    const email = renderEmail(kind, data);
    if (previous === "sending") possibleDuplicate(options);
    const sent = await sendClaimed(options, { claim, recipient, email });
    await recordDelivery(options, { recipient, data, subject: email.subject, sent });
    return { status: "sent", messageId: sent.messageId };
  } finally {
    claim.lease.release();
  }
}

/** A won claim: its token and the lease being kept on it. */
interface Claim {
  token: string;
  lease: Lease;
}

/**
 * An earlier claim on this key ended without a record (its holder died or
 * its send was cut off), so its message may have gone out: this send may be
 * a second copy. Logged and counted; the `Message-ID` is the same.
 */
function possibleDuplicate(options: DeliverEmailOptions): void {
  options.metrics?.emailPossibleDuplicate(options.kind);
  options.log.warn(
    "Email {dedupeKey} may be sent twice: an earlier send's outcome is unknown (same Message-ID)",
    { dedupeKey: options.dedupeKey },
  );
}

/** Extends the claim's lease; false when the claim is no longer this holder's. */
async function renewClaim(options: DeliverEmailOptions, token: string): Promise<boolean> {
  const rows = await options.sql`
    update email_deliveries
    set claimed_until = now() + ${options.config.claimLeaseMs} * interval '1 millisecond'
    where dedupe_key = ${options.dedupeKey} and claim_token = ${token} and status = 'sending'
    returning 1
  `;
  return rows.length > 0;
}

/**
 * One round trip: loads the recipient (undefined for an unknown user) and the
 * key's state as it was, and claims the key for a lease when the recipient
 * exists and the key is new, `pending`, `failed`, or `sending` with its lease
 * run out. A finished key, or one another worker holds, is left alone: the
 * conflict clause sees the latest committed row, so of two workers claiming
 * at once only one gets the claim.
 */
async function loadAndClaim(
  options: DeliverEmailOptions,
  token: string,
): Promise<{ recipient: RecipientRow | undefined; previous: string | null; claimed: boolean }> {
  const [found] = await options.sql<
    (RecipientRow & { previous_status: string | null; claimed: boolean })[]
  >`
    with recipient as (
      select u.id, u.email, u.name, u.position, u.original_position, u.referral_code,
        u.email_verified_at, u.milestone_notified,
        c.name as campaign_name, c.points_per_referral, c.milestone_thresholds,
        (select count(*)::int from referrals r
          where r.campaign_id = u.campaign_id and r.referrer_id = u.id
            and r.status = 'verified') as verified_referrals
      from waitlist_users u join campaigns c on c.id = u.campaign_id
      where u.id = ${options.userId} and u.campaign_id = ${options.campaignId}
    ), claim as (
      insert into email_deliveries
        (dedupe_key, event_id, kind, user_id, recipient, status, attempts, claimed_until,
          claim_token)
      select ${options.dedupeKey}, ${options.eventId}, ${options.kind}, recipient.id,
        recipient.email, 'sending', 1,
        now() + ${options.config.claimLeaseMs} * interval '1 millisecond', ${token}
      from recipient
      on conflict (dedupe_key) do update set
        status = 'sending',
        attempts = email_deliveries.attempts + 1,
        recipient = excluded.recipient,
        claimed_until = excluded.claimed_until,
        claim_token = excluded.claim_token,
        updated_at = now()
      where email_deliveries.status in ('pending', 'failed')
        or (email_deliveries.status = 'sending' and email_deliveries.claimed_until < now())
      returning 1
    )
    select recipient.*,
      (select status from email_deliveries where dedupe_key = ${options.dedupeKey})
        as previous_status,
      exists (select 1 from claim) as claimed
    from (select 1) as one
    left join recipient on true
  `;
  if (!found) return { recipient: undefined, previous: null, claimed: false };
  // The left join leaves the user's columns null for an unknown user.
  const { previous_status: previous, claimed, ...recipient } = found;
  return { recipient: recipient.id ? recipient : undefined, previous, claimed };
}

/** {@linkcode templateData} under a claim: a failure releases the claim. */
async function claimedTemplateData(
  options: DeliverEmailOptions,
  claim: Claim,
  recipient: RecipientRow,
): Promise<EmailTemplateData | string> {
  try {
    return await templateData(options, recipient);
  } catch (error) {
    await releaseClaim(options, { token: claim.token, error });
    throw error;
  }
}

/** Ends the claim as `skipped`: there is nothing to say. */
async function recordSkipped(options: DeliverEmailOptions, reason: string): Promise<EmailOutcome> {
  await options.sql`
    update email_deliveries
    set status = 'skipped', last_error = ${reason}, claimed_until = null, claim_token = null,
      updated_at = now()
    where dedupe_key = ${options.dedupeKey}
  `;
  options.log.info("Email {dedupeKey} skipped: {reason}", {
    dedupeKey: options.dedupeKey,
    reason,
  });
  return { status: "skipped", reason };
}

/**
 * Sends the rendered email under the claim, with a `Message-ID` derived from
 * the key. On failure, the claim is released when the message surely did not
 * go out, and held one more SMTP timeout when it may have.
 */
async function sendClaimed(
  options: DeliverEmailOptions,
  send: { claim: Claim; recipient: RecipientRow; email: RenderedEmail },
): Promise<SentMail> {
  const { claim, recipient, email } = send;
  const signal = AbortSignal.any([options.signal, claim.lease.lost]);
  if (signal.aborted) {
    // Nothing went out yet: the retry may send at once.
    await releaseClaim(options, {
      token: claim.token,
      error: signal.reason,
      subject: email.subject,
    });
    throw signal.reason;
  }
  try {
    return await options.mailer.send({
      to: recipient.email,
      subject: email.subject,
      text: email.text,
      html: email.html,
      messageId: messageIdFor(options.dedupeKey, options.config.from),
      headers: { "X-Jobpool-Event": options.eventId, "X-Jobpool-Email": options.kind },
    }, { signal });
  } catch (error) {
    if (error instanceof MailSendError && error.notSent) {
      await releaseClaim(options, { token: claim.token, error, subject: email.subject });
    } else await holdClaim(options, { token: claim.token, error, subject: email.subject });
    if (error instanceof MailSendError && error.permanent) {
      throw new PermanentJobError(`${error.message} (to ${recipient.email})`, { cause: error });
    }
    throw error;
  }
}

/**
 * The `Message-ID` of the email of `dedupeKey`: the same for every send of
 * the key, so a resend can be recognised as a copy. Its domain is the
 * sender's (RFC 5322 wants a unique right-hand side; the key makes the left
 * one unique).
 */
export function messageIdFor(dedupeKey: string, from: string): string {
  const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1] ?? "jobpool.invalid";
  const local = dedupeKey.replace(/[^A-Za-z0-9.-]/g, ".");
  return `<jobpool.${local}@${domain}>`;
}

/** Records a sent email, and the milestone it announced. */
async function recordDelivery(
  options: DeliverEmailOptions,
  delivery: { recipient: RecipientRow; data: EmailTemplateData; subject: string; sent: SentMail },
): Promise<void> {
  const { recipient, data, sent } = delivery;
  // The mail is out: from here on, a failure keeps the claim until its lease
  // ends rather than inviting an immediate second send.
  await recordSent(options, { subject: delivery.subject, ...sent });
  if (options.kind === "milestone" && data.milestone) {
    await options.sql`
      update waitlist_users
      set milestone_notified = greatest(milestone_notified, ${data.milestone.reached})
      where id = ${recipient.id}
    `;
  }
  options.log.info("Sent {kind} email {messageId} for {dedupeKey}", {
    kind: options.kind,
    messageId: sent.messageId,
    dedupeKey: options.dedupeKey,
  });
}

/**
 * Ends the claim on a key after a failure before anything was sent: `failed`
 * for good (a permanent error), back to `pending` otherwise, so that the retry
 * need not wait.
 */
async function releaseClaim(
  options: DeliverEmailOptions,
  release: { token: string; error: unknown; subject?: string },
): Promise<void> {
  const { error } = release;
  const permanent = error instanceof PermanentJobError ||
    (error instanceof MailSendError && error.permanent);
  const reason = error instanceof Error ? error.message : String(error);
  await options.sql`
    update email_deliveries
    set status = ${permanent ? "failed" : "pending"}, last_error = ${reason},
      subject = coalesce(${release.subject ?? null}, subject), claimed_until = null,
      claim_token = null, updated_at = now()
    where dedupe_key = ${options.dedupeKey} and claim_token = ${release.token}
      and status = 'sending'
  `.catch((releaseError) => {
    options.log.warn("Cannot release the claim on {dedupeKey}: {error}", {
      dedupeKey: options.dedupeKey,
      error: String(releaseError),
    });
  });
}

/**
 * Records why a send that may have gone out failed, and holds the claim one
 * more SMTP timeout (the time the cut-off exchange may still take), so that
 * no retry sends a second copy while the first may still be on its way.
 */
async function holdClaim(
  options: DeliverEmailOptions,
  hold: { token: string; error: unknown; subject: string },
): Promise<void> {
  const reason = hold.error instanceof Error ? hold.error.message : String(hold.error);
  const holdMs = options.config.smtp.timeoutMs + 5_000;
  options.log.warn(
    "Email {dedupeKey} may have gone out ({error}): no retry for {holdMs} ms",
    { dedupeKey: options.dedupeKey, error: reason, holdMs },
  );
  await options.sql`
    update email_deliveries
    set last_error = ${reason}, subject = ${hold.subject},
      claimed_until = now() + ${holdMs} * interval '1 millisecond', updated_at = now()
    where dedupe_key = ${options.dedupeKey} and claim_token = ${hold.token}
      and status = 'sending'
  `.catch((recordError) => {
    options.log.warn("Cannot record the failure of {dedupeKey}: {error}", {
      dedupeKey: options.dedupeKey,
      error: String(recordError),
    });
  });
}

/** The template data, or why there is nothing to send. */
async function templateData(
  options: DeliverEmailOptions,
  recipient: RecipientRow,
): Promise<EmailTemplateData | string> {
  const { config, kind } = options;
  const data: EmailTemplateData = {
    user: {
      email: recipient.email,
      name: recipient.name,
      position: recipient.position,
      originalPosition: recipient.original_position,
      verifiedReferrals: recipient.verified_referrals,
    },
    campaign: {
      name: recipient.campaign_name,
      pointsPerReferral: recipient.points_per_referral,
    },
    referralLink: `${config.appBaseUrl}/r/${encodeURIComponent(recipient.referral_code)}`,
  };
  switch (kind) {
    case "verification": {
      if (recipient.email_verified_at) return "the email address is verified already";
      const expiresAt = new Date(Date.now() + config.verification.ttlHours * 3_600_000);
      const token = await createVerificationToken({
        userId: recipient.id,
        campaignId: options.campaignId,
        email: recipient.email,
        expiresAt,
      }, config.verification.secret);
      data.verification = { link: verificationLink(config.appBaseUrl, token), expiresAt };
      break;
    }
    case "milestone": {
      const thresholds = recipient.milestone_thresholds;
      const reached = reachedMilestone(recipient.verified_referrals, thresholds);
      if (reached === undefined) {
        return `no milestone reached (${recipient.verified_referrals} verified referrals)`;
      }
      if (reached <= recipient.milestone_notified) {
        return `the user was told of the ${recipient.milestone_notified}-referral milestone already`;
      }
      data.milestone = { reached, next: nextMilestone(recipient.verified_referrals, thresholds) };
      break;
    }
    case "reward_earned": {
      const reward = options.reward ?? await latestReward(options.sql, recipient.id);
      if (!reward) {
        throw new PermanentJobError(
          `Cannot send the reward_earned email: user ${recipient.id} has no reward`,
        );
      }
      data.reward = reward;
      break;
    }
    case "welcome":
    case "position_update":
      break;
  }
  return data;
}

async function latestReward(
  sql: Sql,
  userId: string,
): Promise<{ name: string; description: string } | undefined> {
  const [reward] = await sql<{ name: string; description: string }[]>`
    select r.name, r.description
    from user_rewards ur join rewards r on r.id = ur.reward_id
    where ur.user_id = ${userId}
    order by ur.status = 'delivered' desc, ur.delivered_at desc nulls last, ur.created_at desc
    limit 1
  `;
  return reward;
}

/**
 * Records the SMTP message id. The mail is out, so this is retried (with
 * backoff up to 2 s) until it is written, through a database outage too:
 * giving up would let the next claim send the mail again. Only the worker's
 * end (the process exits) stops it.
 */
async function recordSent(
  options: DeliverEmailOptions,
  sent: { subject: string; messageId: string; response: string },
): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await options.sql`
        update email_deliveries
        set status = 'sent', subject = ${sent.subject}, smtp_message_id = ${sent.messageId},
          smtp_response = ${sent.response}, sent_at = now(), claimed_until = null,
          claim_token = null, last_error = null, updated_at = now()
        where dedupe_key = ${options.dedupeKey}
      `;
      if (attempt > 1) {
        options.log.info("Recorded email {dedupeKey} after {attempts} tries", {
          dedupeKey: options.dedupeKey,
          attempts: attempt,
        });
      }
      return;
    } catch (error) {
      if (attempt === 1) {
        options.log.warn(
          "Email {dedupeKey} was sent but cannot be recorded yet, retrying: {error}",
          { dedupeKey: options.dedupeKey, error: String(error) },
        );
      }
      await delay(Math.min(2_000, 100 * 2 ** Math.min(attempt, 5)));
    }
  }
}

async function claimHeld(sql: Sql, dedupeKey: string, log: Logger): Promise<EmailOutcome> {
  const [row] = await sql<{ status: string; wait_ms: number | null }[]>`
    select status,
      (extract(epoch from claimed_until - now()) * 1000)::int as wait_ms
    from email_deliveries where dedupe_key = ${dedupeKey}
  `;
  if (row && FINISHED.includes(row.status)) {
    log.info("Email {dedupeKey} was handled meanwhile ({status})", {
      dedupeKey,
      status: row.status,
    });
    return { status: "duplicate", previous: row.status };
  }
  throw new LeaseHeldError(
    `Email ${dedupeKey} is claimed by another send: waiting for its lease`,
    { retryAfterMs: Math.max(250, (row?.wait_ms ?? 0) + 50) },
  );
}
