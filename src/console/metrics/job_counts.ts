/**
 * The job counters of one worker scrape, and the increase between two
 * scrapes: finished jobs by type and outcome, and the duration histogram.
 *
 * @module
 */

import type { Sample } from "./prometheus_text.ts";

/** The metric names the console reads, as the worker exports them (src/observability/metrics.ts). */
export const JOB_METRICS = {
  processed: "jobpool_jobs_processed_total",
  durationBucket: "jobpool_job_duration_seconds_bucket",
  durationSum: "jobpool_job_duration_seconds_sum",
  durationCount: "jobpool_job_duration_seconds_count",
  inFlight: "jobpool_jobs_in_flight",
} as const;

/** Counters of one job type: finished jobs by outcome and the duration histogram. */
export interface TypeCounts {
  /** `jobpool_jobs_processed_total` by `outcome` (`succeeded`, `retried`, `dead_lettered`, `skipped`). */
  outcomes: Record<string, number>;
  /** Cumulative histogram counts by upper bound (`le`, `+Inf` included). */
  buckets: Map<number, number>;
  /** Sum of durations, in seconds. */
  durationSum: number;
}

/** What one scrape of one worker says: counters by job type and jobs running now. */
export interface WorkerCounts {
  /** Counters by job type. */
  byType: Map<string, TypeCounts>;
  /** `jobpool_jobs_in_flight` by job type. */
  inFlight: Map<string, number>;
}

/** Collects a worker's job counters from its scraped samples. */
export function workerCounts(samples: readonly Sample[]): WorkerCounts {
  const byType = new Map<string, TypeCounts>();
  const inFlight = new Map<string, number>();
  const of = (type: string): TypeCounts => {
    let counts = byType.get(type);
    if (!counts) {
      counts = { outcomes: {}, buckets: new Map(), durationSum: 0 };
      byType.set(type, counts);
    }
    return counts;
  };
  for (const { name, labels, value } of samples) {
    const type = labels.type;
    if (type === undefined) continue;
    switch (name) {
      case JOB_METRICS.processed: {
        const outcome = labels.outcome ?? "unknown";
        const outcomes = of(type).outcomes;
        outcomes[outcome] = (outcomes[outcome] ?? 0) + value;
        break;
      }
      case JOB_METRICS.durationBucket: {
        const bound = labels.le === "+Inf" ? Infinity : Number(labels.le);
        if (!Number.isNaN(bound)) of(type).buckets.set(bound, value);
        break;
      }
      case JOB_METRICS.durationSum:
        of(type).durationSum = value;
        break;
      case JOB_METRICS.inFlight:
        inFlight.set(type, (inFlight.get(type) ?? 0) + value);
        break;
    }
  }
  return { byType, inFlight };
}

/**
 * What happened between two scrapes of the same worker. A counter that went
 * down means the worker restarted: its whole new value is the increase, as
 * Prometheus's `increase()` assumes.
 */
export function countsIncrease(
  before: ReadonlyMap<string, TypeCounts>,
  after: ReadonlyMap<string, TypeCounts>,
): Map<string, TypeCounts> {
  const increase = new Map<string, TypeCounts>();
  for (const [type, now] of after) {
    const then = before.get(type);
    const restarted = then !== undefined && (
      Object.entries(then.outcomes).some(([outcome, value]) =>
        (now.outcomes[outcome] ?? 0) < value
      ) ||
      (now.buckets.get(Infinity) ?? 0) < (then.buckets.get(Infinity) ?? 0)
    );
    const base = restarted ? undefined : then;
    const outcomes: Record<string, number> = {};
    for (const [outcome, value] of Object.entries(now.outcomes)) {
      outcomes[outcome] = value - (base?.outcomes[outcome] ?? 0);
    }
    const buckets = new Map<number, number>();
    for (const [bound, value] of now.buckets) {
      buckets.set(bound, value - (base?.buckets.get(bound) ?? 0));
    }
    increase.set(type, {
      outcomes,
      buckets,
      durationSum: now.durationSum - (base?.durationSum ?? 0),
    });
  }
  return increase;
}

/** Adds `more` into `total`, type by type. */
export function addCounts(
  total: Map<string, TypeCounts>,
  more: ReadonlyMap<string, TypeCounts>,
): void {
  for (const [type, counts] of more) {
    const sum: TypeCounts = total.get(type) ?? { outcomes: {}, buckets: new Map(), durationSum: 0 };
    for (const [outcome, value] of Object.entries(counts.outcomes)) {
      sum.outcomes[outcome] = (sum.outcomes[outcome] ?? 0) + value;
    }
    for (const [bound, value] of counts.buckets) {
      sum.buckets.set(bound, (sum.buckets.get(bound) ?? 0) + value);
    }
    sum.durationSum += counts.durationSum;
    total.set(type, sum);
  }
}

/**
 * The `q` quantile (0–1) of a cumulative histogram, interpolated linearly
 * inside a bucket as Prometheus's `histogram_quantile` does; the highest
 * finite bound when it falls in the `+Inf` bucket; undefined without
 * observations.
 */
export function histogramQuantile(
  q: number,
  buckets: ReadonlyMap<number, number>,
): number | undefined {
  const sorted = [...buckets].sort(([a], [b]) => a - b);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of sorted) {
    if (count >= rank) {
      if (bound === Infinity) return lowerBound;
      if (count === lowerCount) return bound;
      return lowerBound + (bound - lowerBound) * (rank - lowerCount) / (count - lowerCount);
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}
