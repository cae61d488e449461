/**
 * The live progress line of `deno task dev`, read off the worker's
 * Prometheus metrics.
 *
 * @module
 */

/** Jobs finished so far, by type and outcome. */
export type ProcessedJobs = Map<string, Map<string, number>>;

/** Sums `jobpool_jobs_processed_total{type,outcome}` samples from a `/metrics` page. */
export function parseProcessedJobs(metrics: string): ProcessedJobs {
  const processed: ProcessedJobs = new Map();
  const sample = /^jobpool_jobs_processed_total\{([^}]*)\}\s+([0-9.e+]+)/;
  for (const line of metrics.split("\n")) {
    const match = sample.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries(
      [...(match[1] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    const type = labels.type ?? "unknown";
    const outcome = labels.outcome ?? "unknown";
    const byOutcome = processed.get(type) ?? new Map<string, number>();
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + Number(match[2]));
    processed.set(type, byOutcome);
  }
  return processed;
}

/** One line: `sent 120 | email.welcome 17 … | retried 0 | dead-lettered 0 | lag 3`. */
export function formatProgress(options: {
  sent: number;
  processed: ProcessedJobs;
  lag: number | undefined;
}): string {
  const perType: string[] = [];
  let retried = 0;
  let deadLettered = 0;
  for (const [type, outcomes] of [...options.processed].sort(([a], [b]) => a.localeCompare(b))) {
    perType.push(`${type.replace(/^job\./, "")} ${outcomes.get("succeeded") ?? 0}`);
    retried += outcomes.get("retried") ?? 0;
    deadLettered += outcomes.get("dead_lettered") ?? 0;
  }
  return [
    `sent ${options.sent}`,
    `processed: ${perType.length > 0 ? perType.join(", ") : "none yet"}`,
    `retried ${retried}`,
    `dead-lettered ${deadLettered}`,
    `lag ${options.lag ?? "?"}`,
  ].join(" | ");
}
