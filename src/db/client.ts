/**
 * The one place a PostgreSQL client (npm `postgres`) is built from the
 * configuration.
 *
 * @module
 */

import postgres from "postgres";
import type { DatabaseConfig } from "../config/mod.ts";

/** A pooled PostgreSQL client: tagged-template queries, `begin` for transactions. */
export type Sql = postgres.Sql;

/** A transaction's client, as handed to the callback of `sql.begin`. */
export type TransactionSql = postgres.TransactionSql;

/** Options of {@linkcode createDatabaseClient}. */
export interface DatabaseClientOptions {
  /** Connections in the pool; defaults to `config.poolMax`. */
  max?: number;
  /** Reported as `application_name` in `pg_stat_activity`. @default "jobpool" */
  applicationName?: string;
}

/**
 * A pooled client for `config.url`. Connections open lazily, so this never
 * fails; the first query does when the server is unreachable. Close it with
 * `await sql.end()`.
 */
export function createDatabaseClient(
  config: Pick<
    DatabaseConfig,
    "url" | "poolMax" | "connectTimeoutSeconds" | "idleTimeoutSeconds" | "statementTimeoutMs"
  >,
  options: DatabaseClientOptions = {},
): Sql {
  return postgres(config.url, {
    max: options.max ?? config.poolMax,
    connect_timeout: config.connectTimeoutSeconds,
    idle_timeout: config.idleTimeoutSeconds || undefined,
    onnotice: () => {},
    backoff: reconnectDelaySeconds,
    connection: {
      application_name: options.applicationName ?? "jobpool",
      ...(config.statementTimeoutMs > 0 ? { statement_timeout: config.statementTimeoutMs } : {}),
    },
  });
}

/** The longest pause before a connection is tried again, in seconds. */
const RECONNECT_MAX_SECONDS = 1;

/**
 * Seconds before a connection tries again after `retries` failed connects
 * (postgres.js counts them for the whole pool, and asks before every try):
 * 50 ms doubling to at most 1 s, with equal jitter so that the pool's
 * connections do not knock together.
 *
 * postgres.js's own schedule (3^n / 100 s, up to 20 s) is made for a client
 * that should not hammer a struggling server. The worker already asks
 * sparingly during an outage (its breaker lets one probe through every few
 * seconds), and its own schedule left a database that was back unreached for
 * up to 20 s: queued queries waited out the pause.
 */
export function reconnectDelaySeconds(retries: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RECONNECT_MAX_SECONDS, 0.05 * 2 ** Math.max(0, retries));
  return ceiling / 2 + random() * (ceiling / 2);
}
