/**
 * The whole configuration, read once from the environment at start-up and
 * passed down from there.
 *
 * @module
 */

import { type Env, EnvReader } from "./env_reader.ts";
import { type ConsoleConfig, readConsoleConfig } from "./console.ts";
import { type DatabaseConfig, readDatabaseConfig } from "./database.ts";
import { type KafkaConfig, readKafkaConfig } from "./kafka.ts";
import { type MailConfig, readMailConfig } from "./mail.ts";
import { type LegacyConfig, readLegacyConfig } from "./legacy.ts";
import { readWorkerConfig, type WorkerConfig } from "./worker.ts";

/** Observability settings. */
export interface ObservabilityConfig {
  /** Port of `/metrics`, `/healthz` and `/readyz`; 0 picks a free one. */
  metricsPort: number;
  /** Minimum log level. */
  logLevel: "debug" | "info" | "warning" | "error";
  /** `json` lines for machines, `pretty` for people. */
  logFormat: "json" | "pretty";
}

/** Everything jobpool reads from the environment. */
export interface Config {
  /** The brokers, topic and client settings. */
  kafka: KafkaConfig;
  /** The consumer group, pool, retries and deadlines. */
  worker: WorkerConfig;
  /** Metrics port and logging. */
  observability: ObservabilityConfig;
  /** PostgreSQL, for the handlers. */
  database: DatabaseConfig;
  /** SMTP, links, secrets and the position-update rule, for the handlers. */
  mail: MailConfig;
  /** The legacy BullMQ queue and which job types go there. */
  legacy: LegacyConfig;
}

/** What the Kafka tools (`enqueue`, `lag`, `dlq`, `replay`) need: no database or mail. */
export interface KafkaToolConfig {
  /** The brokers, topic and client settings. */
  kafka: KafkaConfig;
  /** The consumer group, topics, retries and deadlines. */
  worker: WorkerConfig;
}

/**
 * Reads and validates the Kafka connection and the worker's settings only
 * (`KAFKA_*`, `JOB_*`, `SHUTDOWN_TIMEOUT_MS`), so that a tool that only
 * talks to Kafka does not fail on database, mail or observability settings
 * it never uses. The worker reads everything with {@linkcode loadConfig}.
 *
 * @throws {ConfigError} listing every bad variable it reads by name.
 */
export function loadKafkaConfig(env: Env): KafkaToolConfig {
  const reader = new EnvReader(env);
  const config = readKafkaToolConfig(reader);
  reader.done();
  return config;
}

/** What the tools that enqueue or move jobs (`enqueue`, `bridge`) need: Kafka and the legacy queue. */
export interface TransportToolConfig extends KafkaToolConfig {
  /** The legacy BullMQ queue and which job types go there. */
  legacy: LegacyConfig;
}

/**
 * Reads and validates what {@linkcode loadKafkaConfig} reads plus the legacy
 * queue's settings (`JOB_TRANSPORT*`, `BULLMQ_*`).
 *
 * @throws {ConfigError} listing every bad variable it reads by name.
 */
export function loadTransportConfig(env: Env): TransportToolConfig {
  const reader = new EnvReader(env);
  const config = { ...readKafkaToolConfig(reader), legacy: readLegacyConfig(reader) };
  reader.done();
  return config;
}

function readKafkaToolConfig(reader: EnvReader): KafkaToolConfig {
  const kafka = readKafkaConfig(reader);
  return { kafka, worker: readWorkerConfig(reader, kafka.topic) };
}

/** What the web console (`deno task console`) reads: Kafka, the database, logging and its own. */
export interface ConsoleAppConfig extends KafkaToolConfig {
  /** PostgreSQL, for the ledger and the handlers' records of a job. */
  database: DatabaseConfig;
  /** Logging (the console serves no `/metrics` of its own). */
  observability: Pick<ObservabilityConfig, "logLevel" | "logFormat">;
  /** Where it listens, its token, the workers it scrapes, groups and pools. */
  console: ConsoleConfig;
}

/**
 * Reads and validates what the console needs: `KAFKA_*` and `JOB_*` (the
 * topics and the workers' group), `DATABASE_*`, `LOG_LEVEL`, `LOG_FORMAT`
 * and `CONSOLE_*`. Mail and worker-only settings are not read.
 *
 * @throws {ConfigError} listing every bad variable by name.
 */
export function loadConsoleConfig(env: Env): ConsoleAppConfig {
  const reader = new EnvReader(env);
  const tools = readKafkaToolConfig(reader);
  const config: ConsoleAppConfig = {
    ...tools,
    database: readDatabaseConfig(reader),
    observability: readLogging(reader),
    console: readConsoleConfig(reader, tools.worker.consumerGroup),
  };
  reader.done();
  return config;
}

function readLogging(reader: EnvReader): Pick<ObservabilityConfig, "logLevel" | "logFormat"> {
  return {
    logLevel: reader.oneOf("LOG_LEVEL", ["debug", "info", "warning", "error"] as const, "info"),
    logFormat: reader.oneOf("LOG_FORMAT", ["json", "pretty"] as const, "json"),
  };
}

/**
 * Reads and validates the configuration.
 *
 * @throws {ConfigError} listing every bad variable by name.
 */
export function loadConfig(env: Env): Config {
  const reader = new EnvReader(env);
  const config: Config = {
    ...readKafkaToolConfig(reader),
    observability: {
      metricsPort: reader.int("METRICS_PORT", 9090, { min: 0, max: 65535 }),
      ...readLogging(reader),
    },
    database: readDatabaseConfig(reader),
    mail: readMailConfig(reader),
    legacy: readLegacyConfig(reader),
  };
  reader.done();
  return config;
}
