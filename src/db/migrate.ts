/**
 * Forward-only schema migrations with `postgres-shift`, under a PostgreSQL
 * advisory lock so that workers starting together apply them once.
 *
 * Migrations live in `./migrations/NNNNN_name/index.sql`, numbered without
 * gaps; all pending ones run in one transaction. See
 * `docs/adr/0003-migrations.md`.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import postgres from "postgres";
import shift from "postgres-shift";

/** The advisory lock key every jobpool process takes before migrating. */
export const MIGRATION_LOCK_KEY = 7_414_031_201n;

/** The folder of the SQL migrations shipped with jobpool. */
export const MIGRATIONS_DIR: string = fileURLToPath(new URL("./migrations", import.meta.url));

/** Options of {@linkcode runMigrations}. */
export interface RunMigrationsOptions {
  /** The database to migrate. */
  url: string;
  /** A folder of migrations other than jobpool's own (tests). */
  dir?: string;
  /** Seconds to wait for the connection. @default 10 */
  connectTimeoutSeconds?: number;
  /** Called before each migration is applied, e.g. to log it. */
  onMigration?: (migration: { id: number; name: string }) => void;
}

/** What {@linkcode runMigrations} did. */
export interface MigrationResult {
  /** The migrations applied by this call, oldest first; empty when up to date. */
  applied: { id: number; name: string }[];
  /** The number of the newest migration in the database after the run. */
  version: number;
}

/**
 * Applies the pending migrations. Safe to call from many processes at once:
 * each waits for the advisory lock, then finds nothing left to do.
 *
 * @throws the database error of the failing migration; nothing of that run
 * is applied.
 */
export async function runMigrations(options: RunMigrationsOptions): Promise<MigrationResult> {
  // One connection: the session-level advisory lock and the migration
  // transaction must share it.
  const sql = postgres(options.url, {
    max: 1,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    onnotice: () => {},
    connection: { application_name: "jobpool-migrate" },
  });
  const applied: MigrationResult["applied"] = [];
  try {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
    try {
      await shift({
        sql,
        path: options.dir ?? MIGRATIONS_DIR,
        before: ({ migration_id, name }) => {
          const migration = { id: migration_id, name };
          applied.push(migration);
          options.onMigration?.(migration);
        },
      });
      const [row] = await sql<{ version: number | null }[]>`
        select max(migration_id)::int as version from migrations
      `;
      return { applied, version: row?.version ?? 0 };
    } finally {
      // A broken connection has released the lock already.
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY.toString()}::bigint)`.catch(
        () => {},
      );
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}
