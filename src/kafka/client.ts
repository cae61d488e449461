/**
 * The one place a kafkajs client is built from {@linkcode KafkaConfig}, with
 * its log lines routed to jobpool's logger.
 *
 * @module
 */

import {
  Kafka,
  type LogEntry,
  logLevel as KafkaLogLevel,
  Partitioners,
  type Producer,
  type RetryOptions,
  type SASLOptions,
} from "kafkajs";
import { getLogger } from "@logtape/logtape";
import type { KafkaConfig } from "../config/mod.ts";
import { kafkaLogDecision } from "./log_levels.ts";
import { rejoinAsSameMember } from "./member_rejoin.ts";
import { shortenFetchWaitWhileBusy } from "./busy_fetch_wait.ts";
import { useFastRecordDecoder } from "./record_decoder.ts";
import { fixKafkaRequestQueue } from "./request_queue_fix.ts";

/** Options of {@linkcode createKafkaClient}. */
export interface KafkaClientOptions {
  /** Overrides the configured client id, e.g. `jobpool-producer`. */
  clientId?: string;
  /**
   * kafkajs's own log lines from this level up; `nothing` for callers that
   * report failures themselves. @default "warn"
   */
  logLevel?: "warn" | "error" | "nothing";
  /** Retries of a failed request or connect (kafkajs's `retry.retries`). @default 5 */
  retries?: number;
  /**
   * The longest pause between retries (kafkajs's `retry.maxRetryTime`); a
   * consumer that crashed restarts after its last retry's pause.
   * @default 30000
   */
  maxRetryTimeMs?: number;
}

const LOG_LEVELS = {
  warn: KafkaLogLevel.WARN,
  error: KafkaLogLevel.ERROR,
  nothing: KafkaLogLevel.NOTHING,
} as const;

/**
 * Builds a kafkajs client for `config` (TLS and SASL included), with
 * kafkajs's idle request-queue loop fixed (`request_queue_fix.ts`), its
 * records decoded by the faster decoder (`record_decoder.ts`), its
 * restarted consumers re-joining as the member they were (`member_rejoin.ts`)
 * and its consumers fetching with a brief wait while they have work in
 * progress (`busy_fetch_wait.ts`).
 */
export function createKafkaClient(config: KafkaConfig, options: KafkaClientOptions = {}): Kafka {
  fixKafkaRequestQueue();
  useFastRecordDecoder();
  rejoinAsSameMember();
  shortenFetchWaitWhileBusy();
  return new Kafka({
    clientId: options.clientId ?? config.clientId,
    brokers: config.brokers,
    ssl: tlsOptions(config),
    ...(config.sasl ? { sasl: saslOptions(config.sasl) } : {}),
    logLevel: LOG_LEVELS[options.logLevel ?? "warn"],
    logCreator: () => logKafkaEntry,
    ...retryOptions(options),
  });
}

/**
 * kafkajs's `retry` with only the settings given: kafkajs spreads it over its
 * defaults, so a key present as undefined would erase a default.
 */
function retryOptions(options: KafkaClientOptions): { retry?: RetryOptions } {
  const retry: RetryOptions = {};
  if (options.retries !== undefined) retry.retries = options.retries;
  if (options.maxRetryTimeMs !== undefined) retry.maxRetryTime = options.maxRetryTimeMs;
  return Object.keys(retry).length === 0 ? {} : { retry };
}

/**
 * The producer every jobpool component publishes with: idempotent (so a retried
 * send never duplicates a message), five requests in flight (the most that keeps
 * idempotence ordered), no topic auto-creation, and the Java client's murmur2
 * partitioner, so a key lands on the same partition as with any other client.
 * Sends should use `acks: -1`.
 */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 5,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

function tlsOptions(config: KafkaConfig) {
  const { tls } = config;
  if (!tls.enabled) return false;
  const pem = (text: string | undefined, file: string | undefined) =>
    text ?? (file ? Deno.readTextFileSync(file) : undefined);
  const ca = pem(tls.ca, tls.caFile);
  const cert = pem(tls.cert, tls.certFile);
  const key = pem(tls.key, tls.keyFile);
  return {
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(ca ? { ca: [ca] } : {}),
    ...(cert && key ? { cert, key } : {}),
  };
}

function saslOptions(sasl: NonNullable<KafkaConfig["sasl"]>): SASLOptions {
  const { username, password } = sasl;
  switch (sasl.mechanism) {
    case "plain":
      return { mechanism: "plain", username, password };
    case "scram-sha-256":
      return { mechanism: "scram-sha-256", username, password };
    case "scram-sha-512":
      return { mechanism: "scram-sha-512", username, password };
  }
}

const kafkaLog = getLogger(["jobpool", "kafkajs"]);

function logKafkaEntry({ level, namespace, log }: LogEntry): void {
  const { message, ...properties } = log;
  const kafkaLevel = level <= KafkaLogLevel.ERROR
    ? "error"
    : level === KafkaLogLevel.WARN
    ? "warning"
    : level === KafkaLogLevel.INFO
    ? "info"
    : "debug";
  const decision = kafkaLogDecision(kafkaLevel, message, properties.error);
  const text = decision.explanation
    ? `${namespace}: ${message}: ${decision.explanation}`
    : `${namespace}: ${message}`;
  if (decision.level === "error") kafkaLog.error(text, properties);
  else if (decision.level === "warning") kafkaLog.warn(text, properties);
  else if (decision.level === "info") kafkaLog.info(text, properties);
  else kafkaLog.debug(text, properties);
}
