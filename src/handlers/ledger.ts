/**
 * The ledger of processed job events: a redelivered event whose work is
 * recorded here is acknowledged without doing it again.
 *
 * @module
 */

import type { Sql, TransactionSql } from "../db/mod.ts";
import type { JobEvent } from "../jobs/mod.ts";

/** True when `eventId` is in the ledger. */
export async function isProcessed(sql: Sql | TransactionSql, eventId: string): Promise<boolean> {
  const rows = await sql`select 1 from processed_events where event_id = ${eventId}`;
  return rows.length > 0;
}

/**
 * Records `event` as done with `outcome`; a second record of the same event
 * is ignored. Call it in the transaction that did the work, when there is one.
 */
export async function markProcessed(
  sql: Sql | TransactionSql,
  event: Pick<JobEvent, "id" | "type" | "campaign_id">,
  outcome: string,
): Promise<void> {
  await sql`
    insert into processed_events (event_id, job_type, campaign_id, outcome)
    values (${event.id}, ${event.type}, ${event.campaign_id}, ${outcome})
    on conflict (event_id) do nothing
  `;
}

/**
 * A UUID derived from `name` (SHA-256, version 8), so that a retried job
 * enqueues follow-ups with the same event ids and their handlers see the
 * duplicates.
 */
export async function derivedUuid(name: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(name)),
  );
  const bytes = digest.slice(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

/** Options of {@linkcode pruneLedger}. */
export interface PruneLedgerOptions {
  /** Ledger entries older than this many days go. */
  retentionDays: number;
  /** Rows deleted per statement, so no statement holds locks for long. @default 5000 */
  batchSize?: number;
  /** Stops between batches when it aborts (shutdown). */
  signal?: AbortSignal;
}

/**
 * Deletes ledger entries older than `retentionDays`, oldest first, in batches;
 * resolves to how many went. Two workers pruning at once skip each other's
 * rows instead of waiting on them. A redelivered event older than the
 * retention runs again, so keep it longer than any topic a job can be
 * replayed from (the job topic and its dead-letter topic).
 *
 * @throws {RangeError} for a retention below one day (0 would delete all).
 */
export async function pruneLedger(sql: Sql, options: PruneLedgerOptions): Promise<number> {
  if (!Number.isInteger(options.retentionDays) || options.retentionDays < 1) {
    throw new RangeError(
      `pruneLedger needs a retention of at least 1 day, got ${options.retentionDays}; ` +
        "to keep every entry, do not prune (LEDGER_RETENTION_DAYS=0)",
    );
  }
  const batchSize = options.batchSize ?? 5_000;
  let total = 0;
  while (!options.signal?.aborted) {
    const deleted = await sql`
      with doomed as (
        select event_id from processed_events
        where processed_at < now() - make_interval(days => ${options.retentionDays})
        order by processed_at
        limit ${batchSize}
        for update skip locked
      )
      delete from processed_events using doomed
      where processed_events.event_id = doomed.event_id
    `;
    total += deleted.count;
    if (deleted.count < batchSize) break;
  }
  return total;
}
