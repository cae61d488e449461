/**
 * Synthesis: pure functions from a `JobWorkerPool` to the manifests that run
 * it, and the operator's own install manifests, built in memory with cdk8s.
 *
 * @module
 */

export { poolObjectList, type PoolObjects, synthesizePool } from "./synthesize.ts";
export type { Manifest } from "../runtime/object.ts";
export {
  commonLabels,
  kafkaTopicNamespace,
  kafkaTopicResourceName,
  LABELS,
  MANAGER_NAME,
  METRICS_PORT,
  ownerReferences,
  poolLabels,
  poolNamespace,
  scalerName,
  selectorLabels,
  triggerAuthenticationName,
  WORKER_APP_NAME,
  WORKER_CONTAINER_NAME,
  workerName,
} from "./names.ts";
export {
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  KAFKA_CA_DIR,
  KAFKA_CA_FILE,
  KAFKA_CLIENT_CERT_DIR,
  KAFKA_CLIENT_CERT_FILES,
  OFFSET_RESET_POLICY,
  terminationGraceSeconds,
  workerEnv,
} from "./worker_deployment.ts";
export {
  KafkaTopic,
  type KafkaTopicProps,
  type KafkaTopicSpec,
  STRIMZI_CLUSTER_LABEL,
  STRIMZI_GROUP,
} from "./strimzi.ts";
export {
  type KafkaTrigger,
  type KafkaTriggerMetadata,
  KEDA_API_VERSION,
  ScaledObject,
  type ScaledObjectFallback,
  type ScaledObjectProps,
  type ScaledObjectSpec,
  type SecretTargetRef,
  TriggerAuthentication,
  type TriggerAuthenticationProps,
} from "./keda.ts";
