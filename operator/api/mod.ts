/**
 * The `JobWorkerPool` API: constants, types, the CRD and defaulting.
 *
 * @module
 */

export {
  API_VERSION,
  type Condition,
  CONDITION_TYPES,
  type ConditionType,
  CRD_NAME,
  GROUP,
  type JobWorkerPool,
  type JobWorkerPoolSpec,
  type JobWorkerPoolSpecInput,
  type JobWorkerPoolStatus,
  KIND,
  LIST_KIND,
  PLURAL,
  type ReservedEnvName,
  type SaslMechanism,
  SHORT_NAME,
  SINGULAR,
  VERSION,
} from "./types.ts";
export {
  jobWorkerPoolSchema,
  jobWorkerPoolSpecSchema,
  jobWorkerPoolStatusSchema,
  RESERVED_ENV_NAMES,
} from "./schema.ts";
export { type CustomResourceDefinition, jobWorkerPoolCrd } from "./crd.ts";
export {
  applyDefaults,
  consumerGroupOf,
  defaultConsumerGroup,
  newJobWorkerPool,
} from "./defaults.ts";
export { applySchemaDefaults, type FromSchema, type SchemaNode } from "./schema_types.ts";
export { isJobWorkerPool, POOL_RESOURCE, toPool } from "./resource.ts";
