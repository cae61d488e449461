/**
 * `deno task migrate`: applies pending schema migrations to `DATABASE_URL`.
 * Safe to run while workers start: everyone waits for the same advisory lock.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { loadConfig } from "../config/mod.ts";
import { runMigrations } from "../db/mod.ts";
import { EXIT, runCli } from "./common.ts";

const HELP = `Usage: deno task migrate

Applies the pending schema migrations (src/db/migrations) to DATABASE_URL,
in one transaction, under an advisory lock, and prints what it applied.

Options:
  -h, --help   show this help`;

/** Runs `migrate` with `args`; resolves to the exit code. */
export async function migrateMain(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { help: { type: "boolean", short: "h", default: false } },
  });
  if (values.help) {
    console.log(HELP);
    return EXIT.ok;
  }
  const config = loadConfig(env);
  const result = await runMigrations({
    url: config.database.url,
    connectTimeoutSeconds: config.database.connectTimeoutSeconds,
    onMigration: (migration) => console.error(`Applying ${migration.id} ${migration.name}`),
  });
  console.log(
    result.applied.length === 0
      ? `Schema is up to date (version ${result.version})`
      : `Applied ${result.applied.length} migration(s); schema version ${result.version}`,
  );
  return EXIT.ok;
}

if (import.meta.main) await runCli((args) => migrateMain(args, Deno.env.toObject()));
