/**
 * Observability: structured logs, Prometheus metrics and the HTTP probes.
 *
 * @module
 */

export { closeLogging, configureLogging, logger, type LoggingOptions } from "./logging.ts";
export { fetchGroupLag, type GroupLag, type LagAdmin, type PartitionLag } from "./lag.ts";
export { createWorkerMetrics, type JobOutcome, type WorkerMetrics } from "./metrics.ts";
export {
  type EventLoopCheckOptions,
  type ObservabilityServer,
  type ObservabilityServerOptions,
  startObservabilityServer,
} from "./server.ts";
