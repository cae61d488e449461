import assert from "node:assert/strict";
import type { TypeCounts } from "./job_counts.ts";
import { JobHistory } from "./job_history.ts";

function counts(succeeded: number, retried: number, dead: number, fast: number): TypeCounts {
  const total = succeeded + retried + dead;
  return {
    outcomes: { succeeded, retried, dead_lettered: dead, skipped: 7 },
    buckets: new Map([[0.1, fast], [1, total], [Infinity, total]]),
    durationSum: 0,
  };
}

Deno.test("live rates come from the last minute, totals from the whole history", () => {
  const history = new JobHistory({ keepMs: 3_600_000 });
  const t0 = 1_000_000;
  history.add({ end: t0, seconds: 10, byType: new Map([["a", counts(100, 0, 0, 100)]]) });
  history.add({ end: t0 + 90_000, seconds: 10, byType: new Map([["a", counts(10, 5, 5, 0)]]) });
  const [a] = history.summary({ now: t0 + 90_000, liveMs: 60_000 });
  assert.deepEqual(a?.liveRate, { processed: 2, retried: 0.5, failed: 1, deadLettered: 0.5 });
  assert.deepEqual(a?.total, { processed: 120, retried: 5, failed: 10, deadLettered: 5 });
  assert.ok((a?.live.p50 ?? 0) > 0.1, "the last minute's jobs were all slow");
  assert.ok((a?.history.p50 ?? 1) <= 0.1, "most jobs of the hour were fast");
  assert.equal(history.seconds, 20);
});

Deno.test("intervals older than the history are dropped", () => {
  const history = new JobHistory({ keepMs: 60_000 });
  history.add({ end: 0, seconds: 5, byType: new Map([["old", counts(1, 0, 0, 1)]]) });
  history.add({ end: 61_000, seconds: 5, byType: new Map([["new", counts(1, 0, 0, 1)]]) });
  assert.deepEqual(history.summary({ now: 61_000, liveMs: 60_000 }).map((s) => s.type), ["new"]);
});

Deno.test("the timeline adds every type per interval", () => {
  const history = new JobHistory({ keepMs: 60_000 });
  history.add({
    end: 10_000,
    seconds: 2,
    byType: new Map([["a", counts(4, 0, 0, 4)], ["b", counts(0, 2, 2, 0)]]),
  });
  assert.deepEqual(history.timeline(), [
    { t: 10, processed: 4, retried: 1, failed: 2, deadLettered: 1 },
  ]);
});
