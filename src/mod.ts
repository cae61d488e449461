/**
 * jobpool: Kafka-backed background jobs. This is the library applications
 * import to enqueue jobs; the worker runs from `src/worker/main.ts`.
 *
 * @module
 */

export * from "./jobs/mod.ts";
export * from "./producer/mod.ts";
export {
  type Config,
  ConfigError,
  type ConfigProblem,
  type Env,
  type KafkaConfig,
  loadConfig,
} from "./config/mod.ts";
export type {
  HandlerContext,
  JobHandler,
  JobHandlers,
  PartialJobHandlers,
} from "./handlers/handler.ts";
