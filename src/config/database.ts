/**
 * PostgreSQL connection settings.
 *
 * @module
 */

import type { EnvReader } from "./env_reader.ts";

/** The default database: a local server's `jobpool` database, as `deno task worker` expects. */
export const DEFAULT_DATABASE_URL = "postgres://postgres@localhost:5432/jobpool";

/** How to reach PostgreSQL. */
export interface DatabaseConfig {
  /** `postgres://user:password@host:port/database`, query options allowed (`?sslmode=require`). */
  url: string;
  /** Connections per process. */
  poolMax: number;
  /** Seconds to wait for a connection to open. */
  connectTimeoutSeconds: number;
  /** Seconds an unused connection stays open; 0 keeps it. */
  idleTimeoutSeconds: number;
  /** Server-side limit on one statement, in milliseconds; 0 for none. */
  statementTimeoutMs: number;
  /** Apply pending migrations when the worker starts (under an advisory lock). */
  migrateOnStart: boolean;
  /**
   * Days a processed event id stays in the ledger; 0 keeps them all. An event
   * redelivered after that runs again: keep it above the retention of the job
   * topic and of its dead-letter topic.
   */
  ledgerRetentionDays: number;
}

/**
 * Reads `DATABASE_URL`, `DATABASE_POOL_MAX`, `DATABASE_CONNECT_TIMEOUT_S`,
 * `DATABASE_IDLE_TIMEOUT_S`, `DATABASE_STATEMENT_TIMEOUT_MS`,
 * `DATABASE_MIGRATE_ON_START` and `LEDGER_RETENTION_DAYS`.
 */
export function readDatabaseConfig(env: EnvReader): DatabaseConfig {
  return {
    url: env.url("DATABASE_URL", ["postgres", "postgresql"], DEFAULT_DATABASE_URL),
    poolMax: env.int("DATABASE_POOL_MAX", 10, { min: 1, max: 1_000 }),
    connectTimeoutSeconds: env.int("DATABASE_CONNECT_TIMEOUT_S", 10, { min: 1, max: 600 }),
    idleTimeoutSeconds: env.int("DATABASE_IDLE_TIMEOUT_S", 60, { min: 0 }),
    statementTimeoutMs: env.int("DATABASE_STATEMENT_TIMEOUT_MS", 120_000, { min: 0 }),
    migrateOnStart: env.bool("DATABASE_MIGRATE_ON_START", true),
    ledgerRetentionDays: env.int("LEDGER_RETENTION_DAYS", 30, { min: 0, max: 36_500 }),
  };
}
