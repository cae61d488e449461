/**
 * PostgreSQL: the client, the schema's migrations, and the error
 * classification handlers use to tell a down database from a bad query.
 *
 * @module
 */

export {
  createDatabaseClient,
  type DatabaseClientOptions,
  type Sql,
  type TransactionSql,
} from "./client.ts";
export {
  MIGRATION_LOCK_KEY,
  type MigrationResult,
  MIGRATIONS_DIR,
  runMigrations,
  type RunMigrationsOptions,
} from "./migrate.ts";
export { abortableQuery, type CancellableQuery } from "./abort.ts";
export { isDatabaseUnavailable } from "./errors.ts";
export { seedCampaign, type SeedCampaignOptions, type SeededCampaign } from "./seed.ts";
