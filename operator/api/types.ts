/**
 * The `JobWorkerPool` resource: API coordinates and the TypeScript types,
 * derived from the schema in `schema.ts`.
 *
 * @module
 */

import type {
  jobWorkerPoolSpecSchema,
  jobWorkerPoolStatusSchema,
  RESERVED_ENV_NAMES,
} from "./schema.ts";
import type { FromSchema } from "./schema_types.ts";
import type { Manifest } from "../runtime/object.ts";

/** The API group. */
export const GROUP = "jobpool.dev";
/** The served and stored version. */
export const VERSION = "v1alpha1";
/** `group/version`, the objects' `apiVersion`. */
export const API_VERSION = `${GROUP}/${VERSION}` as const;
/** The kind. */
export const KIND = "JobWorkerPool";
/** The list kind. */
export const LIST_KIND = "JobWorkerPoolList";
/** The resource (plural) name, as in `/apis/jobpool.dev/v1alpha1/namespaces/x/jobworkerpools`. */
export const PLURAL = "jobworkerpools";
/** The singular name. */
export const SINGULAR = "jobworkerpool";
/** The short name for kubectl. */
export const SHORT_NAME = "jwp";
/** The CRD's name. */
export const CRD_NAME = `${PLURAL}.${GROUP}` as const;

/** The condition types the operator maintains in `status.conditions`. */
export const CONDITION_TYPES = ["Ready", "TopicReady", "ScalerReady", "Available"] as const;

/** One of {@linkcode CONDITION_TYPES}. */
export type ConditionType = typeof CONDITION_TYPES[number];

/** A variable the operator sets on the worker, which `spec.env` may not set. */
export type ReservedEnvName = typeof RESERVED_ENV_NAMES[number];

/** The spec after defaulting (as read from the API server, or after `applyDefaults`). */
export type JobWorkerPoolSpec = FromSchema<typeof jobWorkerPoolSpecSchema, true>;

/** The spec as a person writes it: every field with a default may be left out. */
export type JobWorkerPoolSpecInput = FromSchema<typeof jobWorkerPoolSpecSchema, false>;

/** The status the operator writes through the `/status` subresource. */
export type JobWorkerPoolStatus = FromSchema<typeof jobWorkerPoolStatusSchema, true>;

/** One entry of `status.conditions` (the shape of metav1.Condition). */
export type Condition = NonNullable<JobWorkerPoolStatus["conditions"]>[number];

/** The SASL mechanisms a pool can use. */
export type SaslMechanism = NonNullable<JobWorkerPoolSpec["kafka"]["sasl"]>["mechanism"];

/** A `JobWorkerPool` object as stored (spec defaulted): a Kubernetes object with a typed spec. */
export interface JobWorkerPool extends Manifest {
  /** Always `jobpool.dev/v1alpha1`. */
  apiVersion: typeof API_VERSION;
  /** Always `JobWorkerPool`. */
  kind: typeof KIND;
  /** What the pool should run. */
  spec: JobWorkerPoolSpec;
  /** What the operator last observed; written through `/status`. */
  status?: JobWorkerPoolStatus;
}
