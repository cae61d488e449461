/**
 * The fault drill, reduced (2,000 jobs, 2 kills, 20 s outages), inside
 * `deno task test`: every guarantee the README states, on real processes
 * and real faults. `deno task drill` runs the full size.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runDrill } from "../drill/drill.ts";
import { formatTable, kept } from "../drill/report.ts";
import { REDUCED } from "../drill/scenarios.ts";

Deno.test({
  name: "fault drill: kill -9, blocked keys, SMTP 4xx then 5xx, PostgreSQL and broker down",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const logDir = await Deno.makeTempDir({ prefix: "jobpool-drill-test-" });
    const results = await runDrill({
      size: REDUCED,
      scenarios: ["kills", "blocked", "smtp", "postgres", "broker"],
      logDir,
      progress: (line) => console.log(`  drill: ${line}`),
    });
    console.log(formatTable(results));
    for (const result of results) {
      const where = `${result.name} (worker logs in ${logDir})`;
      assert.equal(result.lost, 0, `${where}: jobs lost`);
      assert.equal(result.wronglyDeadLettered, 0, `${where}: jobs dead-lettered wrongly`);
      assert.ok(
        result.doubled <= result.announced,
        `${where}: ${result.doubled} doubled, only ${result.announced} announced`,
      );
      assert.ok(result.commitsCaughtUp, `${where}: the group's commits did not catch up`);
      assert.ok(kept(result));
      // Not a speed target: a stall of a minute outside the fault means work stopped.
      assert.ok(
        result.longestStallSeconds < 60,
        `${where}: stalled ${result.longestStallSeconds} s`,
      );
    }
    const smtp = results.find((r) => r.name.startsWith("SMTP"))!;
    assert.ok(smtp.rightlyDeadLettered > 0, "the 5xx phase refused no mail");
    // A restarted consumer re-joins as the same member and retries every 2 s at
    // most: new work must not wait out the old member's 10 s session.
    const broker = results.find((r) => r.name.startsWith("broker"))!;
    assert.ok(
      (broker.resumeSeconds ?? Infinity) < 8,
      `new work resumed ${broker.resumeSeconds} s after the broker was back`,
    );
    const blocked = results.find((r) => r.name.includes("blocked"))!;
    assert.equal(blocked.notes?.["other keys all done while the 6 claims were held"], "yes");
    await Deno.remove(logDir, { recursive: true });
  },
});
