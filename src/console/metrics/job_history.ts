/**
 * An hour (or as configured) of job counters in memory: one entry per scrape
 * interval with what every worker finished in it, from which the overview
 * reads live rates, last-hour totals and duration percentiles.
 *
 * @module
 */

import { addCounts, histogramQuantile, type TypeCounts } from "./job_counts.ts";

/** What all workers finished between two scrapes. */
export interface JobInterval {
  /** When the interval ended (epoch milliseconds). */
  end: number;
  /** Its length in seconds. */
  seconds: number;
  /** Counter increases by job type. */
  byType: ReadonlyMap<string, TypeCounts>;
}

/**
 * Finished jobs, the way the overview counts them (as Sidekiq's Web UI does):
 * `processed` is every finished attempt, `failed` every attempt that failed,
 * `retried` the failed ones that will run again, `deadLettered` the ones given
 * up on. Skipped jobs (types a worker does not handle) are not counted.
 */
export interface JobTally {
  /** Attempts that finished: succeeded, retried or dead-lettered. */
  processed: number;
  /** Failed attempts scheduled for a retry. */
  retried: number;
  /** Failed attempts: retried or dead-lettered. */
  failed: number;
  /** Jobs sent to the dead-letter topic. */
  deadLettered: number;
}

/** One job type in the overview. */
export interface TypeSummary {
  /** The job type. */
  type: string;
  /** Per second over the live window. */
  liveRate: JobTally;
  /** Counts over the whole history. */
  total: JobTally;
  /** Duration percentiles over the live window, in seconds. */
  live: { p50?: number; p99?: number };
  /** Duration percentiles over the whole history, in seconds. */
  history: { p50?: number; p99?: number };
}

/** One point of the overview's rate chart: jobs per second of every type. */
export interface RatePoint extends JobTally {
  /** The interval's end, epoch seconds. */
  t: number;
}

/** Options of {@linkcode JobHistory}. */
export interface JobHistoryOptions {
  /** Intervals older than this are dropped. */
  keepMs: number;
}

/** The intervals of the last `keepMs`. */
export class JobHistory {
  readonly #keepMs: number;
  #intervals: JobInterval[] = [];

  /** An empty history keeping `options.keepMs`. */
  constructor(options: JobHistoryOptions) {
    this.#keepMs = options.keepMs;
  }

  /** Adds the latest interval and forgets those that ended too long before it. */
  add(interval: JobInterval): void {
    this.#intervals.push(interval);
    const oldest = interval.end - this.#keepMs;
    const first = this.#intervals.findIndex((entry) => entry.end > oldest);
    if (first > 0) this.#intervals = this.#intervals.slice(first);
  }

  /** How many seconds the history covers. */
  get seconds(): number {
    return this.#intervals.reduce((sum, entry) => sum + entry.seconds, 0);
  }

  /** Every job type seen, with rates over the intervals that ended in the last `liveMs`. */
  summary(options: { now: number; liveMs: number }): TypeSummary[] {
    const live = this.#intervals.filter((entry) => entry.end > options.now - options.liveMs);
    const liveSeconds = live.reduce((sum, entry) => sum + entry.seconds, 0);
    const liveTotals = sumIntervals(live);
    const totals = sumIntervals(this.#intervals);
    return [...totals.keys()].sort().map((type) => {
      const all = totals.get(type);
      const recent = liveTotals.get(type);
      return {
        type,
        liveRate: perSecond(tally(recent), liveSeconds),
        total: tally(all),
        live: percentiles(recent),
        history: percentiles(all),
      };
    });
  }

  /** Jobs per second of all types, one point per interval. */
  timeline(): RatePoint[] {
    return this.#intervals.map((entry) => {
      const sum: JobTally = { processed: 0, retried: 0, failed: 0, deadLettered: 0 };
      for (const counts of entry.byType.values()) {
        const one = tally(counts);
        sum.processed += one.processed;
        sum.retried += one.retried;
        sum.failed += one.failed;
        sum.deadLettered += one.deadLettered;
      }
      return { t: Math.round(entry.end / 1000), ...perSecond(sum, entry.seconds) };
    });
  }
}

function sumIntervals(intervals: readonly JobInterval[]): Map<string, TypeCounts> {
  const total = new Map<string, TypeCounts>();
  for (const entry of intervals) addCounts(total, entry.byType);
  return total;
}

/** Reads a type's counters as a {@linkcode JobTally}. */
export function tally(counts: TypeCounts | undefined): JobTally {
  const outcome = (name: string) => counts?.outcomes[name] ?? 0;
  const retried = outcome("retried");
  const deadLettered = outcome("dead_lettered");
  return {
    processed: outcome("succeeded") + retried + deadLettered,
    retried,
    failed: retried + deadLettered,
    deadLettered,
  };
}

function perSecond(counts: JobTally, seconds: number): JobTally {
  const rate = (value: number) => seconds > 0 ? value / seconds : 0;
  return {
    processed: rate(counts.processed),
    retried: rate(counts.retried),
    failed: rate(counts.failed),
    deadLettered: rate(counts.deadLettered),
  };
}

function percentiles(counts: TypeCounts | undefined): { p50?: number; p99?: number } {
  if (!counts) return {};
  const p50 = histogramQuantile(0.5, counts.buckets);
  const p99 = histogramQuantile(0.99, counts.buckets);
  return { ...(p50 === undefined ? {} : { p50 }), ...(p99 === undefined ? {} : { p99 }) };
}
