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
    connection: {
      application_name: options.applicationName ?? "jobpool",
      ...(config.statementTimeoutMs > 0 ? { statement_timeout: config.statementTimeoutMs } : {}),
    },
  });
}
