/**
 * `deno task drill`: the fault drill users can run. It starts its own Kafka
 * broker, a durable PostgreSQL and an SMTP server (as the tests do), then
 * runs real `deno task worker` processes through each fault — `kill -9` of
 * the worker, `kill -9` of the broker, a PostgreSQL shutdown, an SMTP server
 * deferring (4xx) then refusing (5xx), keys whose claims a dead worker holds
 * — and prints one table: jobs, effects exactly once, lost, doubled (and how
 * many the workers announced as possible duplicates), dead-lettered wrongly
 * and rightly, the longest stall outside the fault, and the time to resume
 * after it. The results go to `test/drill/results/drill.json`.
 *
 * Usage: `deno task drill [--size full|reduced] [--scenarios kills,broker,postgres,smtp,blocked]`
 *
 * Exit code 0 when every scenario kept its promises (nothing lost or
 * wrongly dead-lettered, duplicates only announced ones, commits caught up),
 * 1 otherwise.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { formatTable, kept, type ScenarioResult } from "./report.ts";
import {
  blockedKeys,
  type DrillSize,
  FULL,
  killBroker,
  killWorkers,
  REDUCED,
  smtpRefusals,
  stopPostgres,
} from "./scenarios.ts";
import { type DrillStack, startStack } from "./stack.ts";

/** The scenarios by name, in the order they run. */
export const SCENARIOS: Record<
  string,
  (stack: DrillStack, size: DrillSize) => Promise<ScenarioResult>
> = {
  kills: killWorkers,
  blocked: (stack) => blockedKeys(stack),
  smtp: smtpRefusals,
  postgres: stopPostgres,
  broker: killBroker,
};

/** Runs the named scenarios on a fresh stack; resolves with their results. */
export async function runDrill(
  options: {
    size: DrillSize;
    scenarios: string[];
    logDir: string;
    progress?: (line: string) => void;
  },
): Promise<ScenarioResult[]> {
  const stack = await startStack(options.logDir);
  if (options.progress) stack.progress = options.progress;
  const results: ScenarioResult[] = [];
  try {
    for (const name of options.scenarios) {
      const scenario = SCENARIOS[name];
      if (!scenario) {
        throw new TypeError(
          `Unknown scenario "${name}": expected ${Object.keys(SCENARIOS).join(", ")}`,
        );
      }
      options.progress?.(`scenario ${name}: starting`);
      const result = await scenario(stack, options.size);
      options.progress?.(`scenario ${name}: done in ${result.seconds} s`);
      results.push(result);
    }
  } finally {
    await stack.stop();
  }
  return results;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      size: { type: "string", default: "full" },
      scenarios: { type: "string", default: Object.keys(SCENARIOS).join(",") },
      out: { type: "string", default: "test/drill/results/drill.json" },
    },
  });
  if (values.size !== "full" && values.size !== "reduced") {
    console.error(`Invalid --size "${values.size}": expected full or reduced`);
    return 2;
  }
  const size = values.size === "full" ? FULL : REDUCED;
  const logDir = await Deno.makeTempDir({ prefix: "jobpool-drill-" });
  console.log(`Fault drill (${values.size}); logs in ${logDir}`);
  const began = Date.now();
  const results = await runDrill({
    size,
    scenarios: values.scenarios.split(",").filter(Boolean),
    logDir,
    progress: (line) => console.log(`[${((Date.now() - began) / 1000).toFixed(0)} s] ${line}`),
  });
  console.log(`\n${formatTable(results)}\n`);
  for (const result of results) {
    for (const [key, value] of Object.entries(result.notes ?? {})) {
      console.log(`${result.name}: ${key}: ${value}`);
    }
  }
  await Deno.writeTextFile(
    values.out,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        size: values.size,
        sizes: size,
        machine: { cpus: navigator.hardwareConcurrency, deno: Deno.version.deno },
        results,
      },
      null,
      2,
    ) + "\n",
  );
  console.log(`Results written to ${values.out}`);
  return results.every(kept) ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
