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
