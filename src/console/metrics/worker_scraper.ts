/**
 * Scrapes every configured worker's `/metrics` on an interval and adds what
 * all of them finished since the last scrape to a {@linkcode JobHistory}.
 *
 * @module
 */

import { delay } from "../../async/mod.ts";
import { logger } from "../../observability/logging.ts";
import {
  addCounts,
  countsIncrease,
  type TypeCounts,
  type WorkerCounts,
  workerCounts,
} from "./job_counts.ts";
import type { JobHistory } from "./job_history.ts";
import { parsePrometheusText } from "./prometheus_text.ts";

const log = logger("console", "scraper");

/** A scraped worker as the overview shows it. */
export interface ScrapeTarget {
  /** The metrics URL, without any credentials in it. */
  url: string;
  /** Whether the last scrape succeeded. */
  up: boolean;
  /** When it last succeeded (ISO 8601). */
  lastSuccessAt?: string;
  /** Why the last scrape failed. */
  error?: string;
}

/** Options of {@linkcode WorkerScraper}. */
export interface WorkerScraperOptions {
  /** The workers' `/metrics` URLs. */
  urls: readonly string[];
  /** Where the increases go. */
  history: JobHistory;
  /** Time between scrapes. */
  intervalMs: number;
  /** One scrape's deadline. @default min(intervalMs, 10_000) */
  timeoutMs?: number;
  /** The clock. @default Date.now */
  now?: () => number;
}

interface TargetState {
  url: string;
  shown: string;
  last?: WorkerCounts;
  lastSuccessAt?: number;
  error?: string;
}

/** Periodic scrapes of the workers' metrics. */
export class WorkerScraper {
  readonly #options: WorkerScraperOptions;
  readonly #targets: TargetState[];
  readonly #now: () => number;
  #lastTick: number | undefined;
  #stop = new AbortController();
  #loop: Promise<void> | undefined;

  /** A scraper of `options.urls`; call {@linkcode start}. */
  constructor(options: WorkerScraperOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#targets = options.urls.map((url) => ({ url, shown: withoutCredentials(url) }));
  }

  /** Scrapes now and then every interval until {@linkcode stop}. */
  start(): void {
    if (this.#loop || this.#targets.length === 0) return;
    const signal = this.#stop.signal;
    this.#loop = (async () => {
      while (!signal.aborted) {
        await this.scrapeOnce();
        await delay(this.#options.intervalMs, { signal }).catch(() => {});
      }
    })();
  }

  /** Stops scraping. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  /**
   * Scrapes every worker once. The first successful scrape of a worker is
   * its baseline: what it did before the console watched is not a rate.
   */
  async scrapeOnce(): Promise<void> {
    const results = await Promise.all(this.#targets.map((target) => this.#scrape(target)));
    const now = this.#now();
    const increase = new Map<string, TypeCounts>();
    for (const result of results) if (result) addCounts(increase, result);
    if (this.#lastTick !== undefined) {
      this.#options.history.add({
        end: now,
        seconds: (now - this.#lastTick) / 1000,
        byType: increase,
      });
    }
    this.#lastTick = now;
  }

  /** The workers and whether they answer. */
  targets(): ScrapeTarget[] {
    return this.#targets.map((target) => ({
      url: target.shown,
      up: target.error === undefined && target.lastSuccessAt !== undefined,
      ...(target.lastSuccessAt === undefined
        ? {}
        : { lastSuccessAt: new Date(target.lastSuccessAt).toISOString() }),
      ...(target.error === undefined ? {} : { error: target.error }),
    }));
  }

  /** Jobs running now by type, over the workers that answered the last scrape. */
  inFlight(): Map<string, number> {
    const total = new Map<string, number>();
    for (const target of this.#targets) {
      if (target.error !== undefined || !target.last) continue;
      for (const [type, count] of target.last.inFlight) {
        total.set(type, (total.get(type) ?? 0) + count);
      }
    }
    return total;
  }

  async #scrape(target: TargetState): Promise<Map<string, TypeCounts> | undefined> {
    const timeoutMs = this.#options.timeoutMs ?? Math.min(this.#options.intervalMs, 10_000);
    try {
      const response = await fetch(target.url, { signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`HTTP ${response.status}`);
      }
      // The circuit breaker's state (jobpool_dependency_breaker_state{dependency},
      // coming with the worker rewrite) will be read from these same samples.
      const counts = workerCounts(parsePrometheusText(await response.text(), ["jobpool_"]));
      const increase = target.last ? countsIncrease(target.last.byType, counts.byType) : undefined;
      if (target.error !== undefined) log.info("Worker {url} answers again", { url: target.shown });
      target.last = counts;
      target.lastSuccessAt = this.#now();
      delete target.error;
      return increase;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (target.error === undefined) {
        log.warn("Cannot scrape worker {url}: {error}", { url: target.shown, error: message });
      }
      target.error = message;
      return undefined;
    }
  }
}

/** The URL without user and password, safe to show. */
export function withoutCredentials(text: string): string {
  try {
    const url = new URL(text);
    url.username = "";
    url.password = "";
    return url.href;
  } catch {
    return text;
  }
}
