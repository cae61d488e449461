/**
 * Consumer lag in `status.lag` (`OPERATOR_LAG=true`): a reader that asks
 * Kafka, and the loop that runs it for every pool apart from reconciling.
 *
 * @module
 */

export {
  createKafkaLagReader,
  kafkaConfigOf,
  type KafkaLagReaderOptions,
  KafkaUnreachableError,
  type LagReader,
} from "./kafka_lag_reader.ts";
export {
  LAG_FIELD_MANAGER,
  lagClusterKey,
  type LagMonitorOptions,
  runLagMonitor,
} from "./lag_monitor.ts";
