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

/** An owner reference, as in metav1.OwnerReference. */
export interface OwnerReference {
  /** The owner's `apiVersion`. */
  apiVersion: string;
  /** The owner's kind. */
  kind: string;
  /** The owner's name. */
  name: string;
  /** The owner's uid. */
  uid: string;
  /** Whether the owner is the managing controller. */
  controller?: boolean;
  /** Whether the owner's foreground deletion waits for this object. */
  blockOwnerDeletion?: boolean;
}

/** The parts of metav1.ObjectMeta jobpool reads and writes. */
export interface ObjectMeta {
  /** The object's name. */
  name: string;
  /** The namespace; unset for cluster-scoped objects. */
  namespace?: string;
  /** Set by the API server on creation. */
  uid?: string;
  /** Incremented by the API server on every spec change. */
  generation?: number;
  /** The version for optimistic concurrency and watches. */
  resourceVersion?: string;
  /** When the object was created (RFC 3339). */
  creationTimestamp?: string;
  /** Set once deletion was requested and finalizers hold the object. */
  deletionTimestamp?: string;
  /** Labels. */
  labels?: Record<string, string>;
  /** Annotations. */
  annotations?: Record<string, string>;
  /** Finalizers that must be removed before the object goes away. */
  finalizers?: string[];
  /** The objects this one belongs to (garbage collection). */
  ownerReferences?: OwnerReference[];
}

/** A `JobWorkerPool` object as stored (spec defaulted). */
export interface JobWorkerPool {
  /** Always `jobpool.dev/v1alpha1`. */
  apiVersion: typeof API_VERSION;
  /** Always `JobWorkerPool`. */
  kind: typeof KIND;
  /** Name, namespace and the rest of the object's metadata. */
  metadata: ObjectMeta;
  /** What the pool should run. */
  spec: JobWorkerPoolSpec;
  /** What the operator last observed; written through `/status`. */
  status?: JobWorkerPoolStatus;
}
