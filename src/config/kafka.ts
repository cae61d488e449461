/**
 * Kafka connection settings: brokers, topic, consumer group, TLS and SASL.
 *
 * @module
 */

import type { EnvReader } from "./env_reader.ts";

/** SASL mechanisms jobpool can use (MSK and Strimzi clusters offer these). */
export const SASL_MECHANISMS = ["plain", "scram-sha-256", "scram-sha-512"] as const;

/** A SASL mechanism. */
export type SaslMechanism = typeof SASL_MECHANISMS[number];

/** How to reach and authenticate to Kafka. */
export interface KafkaConfig {
  /** Bootstrap servers, `host:port`. */
  brokers: string[];
  /** The topic jobs are published to and consumed from. */
  topic: string;
  /** The client id reported to the brokers. */
  clientId: string;
  /** TLS: off, or on with the system trust store or a CA, and maybe a client certificate (mTLS). */
  tls: { enabled: false } | TlsSettings;
  /** SASL credentials, when the cluster asks for them. */
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
}

/** TLS to the brokers. PEM text (`ca`, `cert`, `key`) wins over the matching file. */
export interface TlsSettings {
  /** Always true. */
  enabled: true;
  /** Verify the brokers' certificates. */
  rejectUnauthorized: boolean;
  /** PEM file of the CA; the system trust store when neither it nor `ca` is set. */
  caFile?: string;
  /** PEM text of the CA (e.g. read from a Kubernetes Secret). */
  ca?: string;
  /** PEM file of the client certificate, for mutual TLS (with `keyFile`). */
  certFile?: string;
  /** PEM file of the client certificate's private key. */
  keyFile?: string;
  /** PEM text of the client certificate. */
  cert?: string;
  /** PEM text of the client certificate's private key. */
  key?: string;
}

/**
 * Reads `KAFKA_BROKERS`, `KAFKA_JOB_TOPIC`, `KAFKA_CLIENT_ID`, `KAFKA_TLS`,
 * `KAFKA_TLS_CA_FILE`, `KAFKA_TLS_CERT_FILE`, `KAFKA_TLS_KEY_FILE`,
 * `KAFKA_TLS_REJECT_UNAUTHORIZED`, `KAFKA_SASL_MECHANISM`,
 * `KAFKA_SASL_USERNAME` and `KAFKA_SASL_PASSWORD`.
 */
export function readKafkaConfig(env: EnvReader): KafkaConfig {
  const brokers = env.list("KAFKA_BROKERS", ["localhost:9092"]);
  if (brokers.length === 0) env.problem("KAFKA_BROKERS", "must list at least one host:port");
  for (const broker of brokers) {
    if (!/^[^\s:]+:\d{1,5}$/.test(broker)) {
      env.problem("KAFKA_BROKERS", `each entry must be host:port, got "${broker}"`);
    }
  }
  const topic = env.string("KAFKA_JOB_TOPIC", "job-events");
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(topic)) {
    env.problem("KAFKA_JOB_TOPIC", `must be a Kafka topic name ([a-zA-Z0-9._-]), got "${topic}"`);
  }
  const config: KafkaConfig = {
    brokers,
    topic,
    clientId: env.string("KAFKA_CLIENT_ID", "jobpool"),
    tls: env.bool("KAFKA_TLS", false)
      ? {
        enabled: true,
        rejectUnauthorized: env.bool("KAFKA_TLS_REJECT_UNAUTHORIZED", true),
        ...optionalField("caFile", env.optional("KAFKA_TLS_CA_FILE")),
        ...optionalField("certFile", env.optional("KAFKA_TLS_CERT_FILE")),
        ...optionalField("keyFile", env.optional("KAFKA_TLS_KEY_FILE")),
      }
      : { enabled: false },
  };
  if (config.tls.enabled && !config.tls.certFile !== !config.tls.keyFile) {
    env.problem(
      config.tls.certFile ? "KAFKA_TLS_KEY_FILE" : "KAFKA_TLS_CERT_FILE",
      "needed with the other one: a client certificate needs its key (mutual TLS)",
    );
  }
  const mechanism = env.oneOf("KAFKA_SASL_MECHANISM", SASL_MECHANISMS);
  if (mechanism) {
    config.sasl = {
      mechanism,
      username: env.required(
        "KAFKA_SASL_USERNAME",
        `needed with KAFKA_SASL_MECHANISM=${mechanism}`,
      ),
      password: env.required(
        "KAFKA_SASL_PASSWORD",
        `needed with KAFKA_SASL_MECHANISM=${mechanism}`,
      ),
    };
  }
  return config;
}

function optionalField<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
