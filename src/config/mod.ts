/**
 * Configuration: the environment, read once into one validated object.
 *
 * @module
 */

export {
  type Config,
  type ConsoleAppConfig,
  type KafkaToolConfig,
  loadConfig,
  loadConsoleConfig,
  loadKafkaConfig,
  loadTransportConfig,
  type ObservabilityConfig,
  type TransportToolConfig,
} from "./load_config.ts";
export {
  DEFAULT_REDIS_URL,
  JOB_TRANSPORTS,
  type JobTransport,
  type LegacyConfig,
} from "./legacy.ts";
export { ConfigError, type ConfigProblem, type Env, EnvReader } from "./env_reader.ts";
export {
  type KafkaConfig,
  SASL_MECHANISMS,
  type SaslMechanism,
  type TlsSettings,
} from "./kafka.ts";
export {
  DEFAULT_BUFFER_BYTES,
  DEFAULT_FETCH_MAX_BYTES,
  DEFAULT_JOB_TIMEOUT_MS,
  defaultBufferSize,
  type WorkerConfig,
} from "./worker.ts";
export { type ConsoleConfig, MIN_CONSOLE_TOKEN_LENGTH, readConsoleConfig } from "./console.ts";
export { type DatabaseConfig, DEFAULT_DATABASE_URL, readDatabaseConfig } from "./database.ts";
export {
  DEFAULT_SMTP_URL,
  DEVELOPMENT_SECRETS,
  developmentSecretsInUse,
  type MailConfig,
  type PositionUpdateRule,
  readMailConfig,
  type SmtpConfig,
  STARTTLS_MODES,
  type StartTlsMode,
} from "./mail.ts";
