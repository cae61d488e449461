/**
 * The web console's settings: where it listens, the token that unlocks its
 * actions, which workers it scrapes, which consumer groups it shows and the
 * cluster whose JobWorkerPools it lists.
 *
 * @module
 */

import type { EnvReader } from "./env_reader.ts";

/** The shortest `CONSOLE_TOKEN` accepted: a guessable token would unlock replays. */
export const MIN_CONSOLE_TOKEN_LENGTH = 16;

/** How the console runs. */
export interface ConsoleConfig {
  /** The address it listens on; loopback unless set. */
  host: string;
  /** Its port; 0 picks a free one. */
  port: number;
  /**
   * Unlocks actions (dead-letter replay). Without it the console is
   * read-only: every action is refused.
   */
  token?: string;
  /** Worker `/metrics` URLs scraped for job rates, durations and in-flight jobs. */
  workerMetricsUrls: string[];
  /** Time between two scrapes of every worker. */
  scrapeIntervalMs: number;
  /** Minutes of samples kept in memory (the "last hour" of the overview). */
  historyMinutes: number;
  /** Consumer groups whose lag, members and assignment the overview shows. */
  consumerGroups: string[];
  /** A kubeconfig whose cluster's JobWorkerPools the Pools page lists; none hides them. */
  kubeconfig?: string;
  /** The kubeconfig context; its current one when unset. */
  kubeContext?: string;
  /** Only the pools of this namespace; all namespaces when unset. */
  poolsNamespace?: string;
}

/**
 * Reads `CONSOLE_HOST`, `CONSOLE_PORT`, `CONSOLE_TOKEN`,
 * `CONSOLE_WORKER_METRICS_URLS`, `CONSOLE_SCRAPE_INTERVAL_MS`,
 * `CONSOLE_HISTORY_MINUTES`, `CONSOLE_CONSUMER_GROUPS` (default: the workers'
 * group), `CONSOLE_KUBECONFIG` (default: `KUBECONFIG`), `CONSOLE_KUBE_CONTEXT`
 * and `CONSOLE_POOLS_NAMESPACE`.
 */
export function readConsoleConfig(env: EnvReader, workerGroup: string): ConsoleConfig {
  const token = env.optional("CONSOLE_TOKEN");
  if (token !== undefined && token.length < MIN_CONSOLE_TOKEN_LENGTH) {
    // The length only: a message must never echo a secret.
    env.problem(
      "CONSOLE_TOKEN",
      `must be at least ${MIN_CONSOLE_TOKEN_LENGTH} characters long, got ${token.length}`,
    );
  }
  const urls = env.list("CONSOLE_WORKER_METRICS_URLS", []);
  for (const url of urls) {
    if (!isHttpUrl(url)) {
      env.problem(
        "CONSOLE_WORKER_METRICS_URLS",
        `each entry must be an http(s) URL such as http://worker:9090/metrics, got "${url}"`,
      );
    }
  }
  const groups = env.list("CONSOLE_CONSUMER_GROUPS", [workerGroup]);
  if (groups.length === 0) {
    env.problem("CONSOLE_CONSUMER_GROUPS", "must name at least one consumer group");
  }
  return {
    host: env.string("CONSOLE_HOST", "127.0.0.1"),
    port: env.int("CONSOLE_PORT", 8088, { min: 0, max: 65535 }),
    workerMetricsUrls: urls,
    scrapeIntervalMs: env.int("CONSOLE_SCRAPE_INTERVAL_MS", 5_000, { min: 250, max: 300_000 }),
    historyMinutes: env.int("CONSOLE_HISTORY_MINUTES", 60, { min: 1, max: 24 * 60 }),
    consumerGroups: groups,
    ...defined("token", token),
    ...defined("kubeconfig", env.optional("CONSOLE_KUBECONFIG") ?? env.optional("KUBECONFIG")),
    ...defined("kubeContext", env.optional("CONSOLE_KUBE_CONTEXT")),
    ...defined("poolsNamespace", env.optional("CONSOLE_POOLS_NAMESPACE")),
  };
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

function defined<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}
