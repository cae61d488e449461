/**
 * Everything the console can find about one job event by its id: its dead
 * letters (with the original partition and offset, attempts and payload),
 * the ledger's outcome (`processed_events`), the email record
 * (`email_deliveries`) and, for reward jobs, the reward's state
 * (`user_rewards`).
 *
 * @module
 */

import type { DeadLetter } from "../../cli/dead_letters.ts";
import type { Sql } from "../../db/mod.ts";
import { InputError, shown } from "../input_error.ts";

/** The ledger's record: the job's work is done. */
export interface LedgerEntry {
  /** The job type. */
  jobType: string;
  /** The campaign (the message key). */
  campaignId: string | null;
  /** What the handler recorded, e.g. `sent`, `recalculated`, `delivered`. */
  outcome: string;
  /** When (ISO 8601). */
  processedAt: string;
}

/** An email the job asked for. */
export interface EmailRecord {
  /** Which template. */
  kind: string;
  /** `pending`, `sending`, `sent`, `failed` or `skipped`. */
  status: string;
  /** Send attempts. */
  attempts: number;
  /** The recipient, masked (`a…@example.com`): the console shows no full address. */
  recipient: string | null;
  /** When it was sent (ISO 8601). */
  sentAt: string | null;
  /** The last error. */
  lastError: string | null;
}

/** A reward delivery's state. */
export interface RewardRecord {
  /** The user reward. */
  id: string;
  /** `pending`, `delivering`, `delivered` or `failed`. */
  status: string;
  /** Delivery attempts. */
  attempts: number;
  /** When it was delivered (ISO 8601). */
  deliveredAt: string | null;
  /** The last error. */
  lastError: string | null;
}

/** What is known of a job. */
export interface JobReport {
  /** The event id looked up. */
  id: string;
  /** Its dead letters, oldest first (a job replayed and failed again has several). */
  deadLetters: DeadLetter[];
  /** The ledger's record, when the work is done. */
  ledger?: LedgerEntry;
  /** Emails recorded for the event. */
  emails: EmailRecord[];
  /** The reward a `job.reward.deliver` job delivers, when its payload is known. */
  reward?: RewardRecord;
  /** The job's envelope, when a dead letter carries it. */
  envelope?: Record<string, unknown>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Checks a job event id from the `id` field.
 *
 * @throws {InputError} naming `id` when it is not a UUID.
 */
export function parseJobId(text: string | undefined): string {
  const id = text?.trim() ?? "";
  if (!UUID.test(id)) {
    throw new InputError("id", `must be a job event id (a UUID), got ${shown(id)}`);
  }
  return id.toLowerCase();
}

/** Options of {@linkcode lookUpJob}. */
export interface LookUpJobOptions {
  /** The database of the handlers. */
  sql: Sql;
  /** Every dead letter (the store's cached list). */
  deadLetters: readonly DeadLetter[];
}

/** Gathers what the dead letters and the database know of job `id`. */
export async function lookUpJob(id: string, options: LookUpJobOptions): Promise<JobReport> {
  const { sql } = options;
  const deadLetters = options.deadLetters.filter((letter) => letter.job.id === id);
  const envelope = deadLetters.map((letter) => parseEnvelope(letter.value)).find(Boolean);
  const [ledgerRows, emailRows] = await Promise.all([
    sql<{ job_type: string; campaign_id: string | null; outcome: string; processed_at: Date }[]>`
      select job_type, campaign_id, outcome, processed_at from processed_events
      where event_id = ${id}
    `,
    sql<
      {
        kind: string;
        status: string;
        attempts: number;
        recipient: string | null;
        sent_at: Date | null;
        last_error: string | null;
      }[]
    >`
      select kind, status, attempts, recipient, sent_at, last_error from email_deliveries
      where event_id = ${id} order by id
    `,
  ]);
  const report: JobReport = {
    id,
    deadLetters,
    emails: emailRows.map((row) => ({
      kind: row.kind,
      status: row.status,
      attempts: row.attempts,
      recipient: maskEmail(row.recipient),
      sentAt: row.sent_at?.toISOString() ?? null,
      lastError: row.last_error,
    })),
  };
  const ledger = ledgerRows[0];
  if (ledger) {
    report.ledger = {
      jobType: ledger.job_type,
      campaignId: ledger.campaign_id,
      outcome: ledger.outcome,
      processedAt: ledger.processed_at.toISOString(),
    };
  }
  if (envelope) report.envelope = envelope;
  const rewardId = rewardIdOf(envelope);
  if (rewardId) {
    const [row] = await sql<
      {
        id: string;
        status: string;
        delivery_attempts: number;
        delivered_at: Date | null;
        last_error: string | null;
      }[]
    >`
      select id, status, delivery_attempts, delivered_at, last_error from user_rewards
      where id = ${rewardId}
    `;
    if (row) {
      report.reward = {
        id: row.id,
        status: row.status,
        attempts: row.delivery_attempts,
        deliveredAt: row.delivered_at?.toISOString() ?? null,
        lastError: row.last_error,
      };
    }
  }
  return report;
}

/**
 * The job's outcome in a few words, from the strongest evidence: the ledger
 * (positions and rewards record there), then the email record (email jobs'
 * idempotency record), then the reward, then the dead letters.
 */
export function jobOutcome(report: JobReport): string {
  if (report.ledger) return `done: ${report.ledger.outcome} (ledger)`;
  const finished = report.emails.find((email) =>
    email.status === "sent" || email.status === "skipped"
  );
  if (finished) return `done: email ${finished.status}`;
  if (report.reward?.status === "delivered") return "done: reward delivered";
  if (report.deadLetters.length > 0) return "dead-lettered";
  if (report.emails.length > 0 || report.reward) return "not done yet";
  return "unknown: no record of it";
}

/** `alice@example.com` → `a…@example.com`: enough to recognise, not to harvest. */
export function maskEmail(address: string | null): string | null {
  if (address === null) return null;
  const at = address.lastIndexOf("@");
  if (at < 1) return "…";
  return `${address[0]}…${address.slice(at)}`;
}

function parseEnvelope(value: DeadLetter["value"]): Record<string, unknown> | undefined {
  if (!value) return undefined;
  try {
    const parsed: unknown = JSON.parse(value.toString("utf8"));
    return parsed && typeof parsed === "object" ? parsed as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

function rewardIdOf(envelope: Record<string, unknown> | undefined): string | undefined {
  if (envelope?.type !== "job.reward.deliver") return undefined;
  const data = envelope.data as Record<string, unknown> | undefined;
  const id = data?.user_reward_id;
  return typeof id === "string" && UUID.test(id) ? id : undefined;
}
