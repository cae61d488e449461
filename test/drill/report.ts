/**
 * What a drill scenario measured, and the one table `deno task drill` prints.
 * Pure: no services, so it is unit tested.
 *
 * @module
 */

/** The measured outcome of one scenario. */
export interface ScenarioResult {
  /** The scenario's name, e.g. `kill -9 x5`. */
  name: string;
  /** What was done to the system, in words. */
  fault: string;
  /** Jobs produced. */
  jobs: number;
  /** Jobs whose effect (one email) exists exactly once. */
  exactlyOnce: number;
  /** Jobs with no effect and no rightful dead letter. */
  lost: number;
  /** Jobs whose effect exists more than once. */
  doubled: number;
  /** Possible duplicates the workers announced (logged and counted) before sending. */
  announced: number;
  /** Jobs dead-lettered that should not have been (the server never refused them for good). */
  wronglyDeadLettered: number;
  /** Jobs dead-lettered because the mail server refused them for good (5xx): expected. */
  rightlyDeadLettered: number;
  /** The longest time without a new effect while work remained, outside the fault itself. */
  longestStallSeconds: number;
  /** From the end of the fault (service back, worker restarted) to the next effect. */
  resumeSeconds: number | undefined;
  /** The group's commits matched the finished work once the jobs were done. */
  commitsCaughtUp: boolean;
  /** Wall time of the scenario. */
  seconds: number;
  /** Extra figures of the scenario (e.g. throughput ratios). */
  notes?: Record<string, number | string>;
}

/** Counts lost, doubled and exactly-once jobs from the effects seen per job. */
export function countEffects(
  jobIds: readonly string[],
  effects: ReadonlyMap<string, number>,
  deadLettered: ReadonlySet<string>,
): { exactlyOnce: number; lost: number; doubled: number } {
  let exactlyOnce = 0;
  let lost = 0;
  let doubled = 0;
  for (const id of jobIds) {
    const count = effects.get(id) ?? 0;
    if (count === 1) exactlyOnce++;
    else if (count > 1) doubled++;
    else if (!deadLettered.has(id)) lost++;
  }
  return { exactlyOnce, lost, doubled };
}

/**
 * The longest gap between progress samples, in seconds, while work remained,
 * not counting time inside `faults` (the deliberate outage windows).
 */
export function longestStall(
  samples: readonly { at: number; done: number }[],
  options: { total: number; faults: readonly { from: number; to: number }[] },
): number {
  let longest = 0;
  let since: number | undefined;
  let last = -1;
  for (const { at, done } of samples) {
    if (done >= options.total) break;
    if (done !== last) {
      last = done;
      since = at;
      continue;
    }
    if (since === undefined) continue;
    const gap = (at - since) - overlap(since, at, options.faults);
    longest = Math.max(longest, gap);
  }
  return Math.round(longest / 100) / 10;
}

function overlap(from: number, to: number, windows: readonly { from: number; to: number }[]) {
  let total = 0;
  for (const window of windows) {
    total += Math.max(0, Math.min(to, window.to) - Math.max(from, window.from));
  }
  return total;
}

/** The table of every scenario, as `deno task drill` prints it. */
export function formatTable(results: readonly ScenarioResult[]): string {
  const header = [
    "scenario",
    "jobs",
    "exactly once",
    "lost",
    "doubled (announced)",
    "dead-lettered wrongly / rightly",
    "longest stall s",
    "resume s",
    "commits caught up",
  ];
  const rows = results.map((r) => [
    r.name,
    String(r.jobs),
    String(r.exactlyOnce),
    String(r.lost),
    `${r.doubled} (${r.announced})`,
    `${r.wronglyDeadLettered} / ${r.rightlyDeadLettered}`,
    r.longestStallSeconds.toFixed(1),
    r.resumeSeconds === undefined ? "-" : r.resumeSeconds.toFixed(1),
    r.commitsCaughtUp ? "yes" : "NO",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  return [
    line(header),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...rows.map(line),
  ].join("\n");
}

/** True when a scenario kept every promise: nothing lost, wrongly dead-lettered or doubled unannounced. */
export function kept(result: ScenarioResult): boolean {
  return result.lost === 0 && result.wronglyDeadLettered === 0 &&
    result.doubled <= result.announced && result.commitsCaughtUp;
}
