import assert from "node:assert/strict";
import { delay } from "../async/mod.ts";
import type { Sql } from "../db/mod.ts";
import { logger } from "../observability/logging.ts";
import { startLedgerPruning } from "./ledger_pruning.ts";

/** A stand-in for the pool: counts statements, each deleting nothing. */
function countingSql(): { sql: Sql; statements: () => number } {
  let statements = 0;
  const sql = (() => {
    statements++;
    return Promise.resolve(Object.assign([], { count: 0 }));
  }) as unknown as Sql;
  return { sql, statements: () => statements };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) {
    await delay(5);
  }
  assert.ok(condition(), "condition never held");
}

const log = logger("test", "ledger");

Deno.test("startLedgerPruning does nothing when the retention is 0", async () => {
  const { sql, statements } = countingSql();
  const pruning = startLedgerPruning({ sql, retentionDays: 0, firstDelayMs: 0, log });
  await delay(20);
  await pruning.stop();
  assert.equal(statements(), 0);
});

Deno.test("startLedgerPruning prunes after its first delay, then on its interval, until stopped", async () => {
  const { sql, statements } = countingSql();
  const pruning = startLedgerPruning({
    sql,
    retentionDays: 30,
    firstDelayMs: 0,
    intervalMs: 10,
    log,
  });
  await until(() => statements() >= 3);
  await pruning.stop();
  const atStop = statements();
  await delay(40);
  assert.equal(statements(), atStop, "a prune ran after stop()");
});
