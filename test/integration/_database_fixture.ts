/**
 * Databases of one test's own on the test run's real PostgreSQL server (from
 * `test/env/services.ts`), created under a unique name and dropped by the
 * test when it is done.
 *
 * @module
 */

import postgres from "postgres";
import { createDatabaseClient, runMigrations, type Sql } from "../../src/db/mod.ts";
import { databaseUrl, uniqueName } from "../env/services.ts";

/** An empty database: its URL, and `drop` to remove it (closing its admin connection). */
export interface EmptyDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A migrated database: a client pool on it, and `drop` to close the pool and remove it. */
export interface MigratedDatabase {
  url: string;
  sql: Sql;
  drop(): Promise<void>;
}

/** Creates an empty database named `<prefix>_<random>`. */
export async function emptyDatabase(prefix: string): Promise<EmptyDatabase> {
  const admin = postgres(databaseUrl(), { max: 1, onnotice: () => {} });
  const name = uniqueName(prefix);
  await admin`create database ${admin(name)}`;
  const url = new URL(databaseUrl());
  url.pathname = `/${name}`;
  return {
    url: url.href,
    async drop() {
      await admin`drop database ${admin(name)} with (force)`;
      await admin.end();
    },
  };
}

/** Creates a database named `<prefix>_<random>`, runs the migrations and opens a pool of `poolMax`. */
export async function migratedDatabase(
  prefix: string,
  options: { poolMax: number },
): Promise<MigratedDatabase> {
  const db = await emptyDatabase(prefix);
  await runMigrations({ url: db.url });
  const sql = createDatabaseClient({
    url: db.url,
    poolMax: options.poolMax,
    connectTimeoutSeconds: 10,
    idleTimeoutSeconds: 0,
    statementTimeoutMs: 0,
  });
  return {
    url: db.url,
    sql,
    async drop() {
      await sql.end();
      await db.drop();
    },
  };
}
