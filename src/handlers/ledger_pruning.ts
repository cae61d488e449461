/**
 * The worker's housekeeping of the processed-events ledger: a prune soon
 * after start and then every `intervalMs`, so the table holds about
 * `LEDGER_RETENTION_DAYS` of event ids however long the workers run.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { Sql } from "../db/mod.ts";
import { pruneLedger } from "./ledger.ts";

/** Options of {@linkcode startLedgerPruning}. */
export interface LedgerPruningOptions {
  /** The PostgreSQL pool. */
  sql: Sql;
  /** Entries older than this many days are deleted; 0 turns pruning off. */
  retentionDays: number;
  /** Time between prunes. @default 3_600_000 (an hour) */
  intervalMs?: number;
  /** Time before the first prune, after start-up's rush. @default 60_000 */
  firstDelayMs?: number;
  /** Where each prune that deleted something, and each failure, is logged. */
  log: Logger;
}

/** A running pruning schedule. */
export interface LedgerPruning {
  /** Cancels the schedule and waits for a prune in progress to stop. */
  stop(): Promise<void>;
}

/** Starts pruning the ledger on a schedule (nothing when `retentionDays` is 0). */
export function startLedgerPruning(options: LedgerPruningOptions): LedgerPruning {
  if (options.retentionDays === 0) return { stop: () => Promise.resolve() };
  const stopping = new AbortController();
  let running: Promise<void> = Promise.resolve();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const prune = async () => {
    const startedAt = performance.now();
    try {
      const deleted = await pruneLedger(options.sql, {
        retentionDays: options.retentionDays,
        signal: stopping.signal,
      });
      if (deleted > 0) {
        options.log.info(
          "Pruned {deleted} processed-event ids older than {days} days in {ms} ms",
          {
            deleted,
            days: options.retentionDays,
            ms: Math.round(performance.now() - startedAt),
          },
        );
      }
    } catch (error) {
      // Housekeeping: the next prune tries again; jobs are not affected.
      options.log.warn("Pruning the processed-events ledger failed: {error}", {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  };
  const schedule = (delayMs: number) => {
    timer = setTimeout(() => {
      running = prune().then(() => {
        if (!stopping.signal.aborted) schedule(options.intervalMs ?? 3_600_000);
      });
    }, delayMs);
  };
  schedule(options.firstDelayMs ?? 60_000);
  return {
    async stop() {
      stopping.abort();
      clearTimeout(timer);
      await running;
    },
  };
}
