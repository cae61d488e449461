/**
 * The one shape of a Kubernetes object in the operator: what the API server
 * returns, what synthesis builds and what the JobWorkerPool types refine.
 * Only the fields the operator relies on are typed; the rest stays `unknown`.
 *
 * @module
 */

/** A Kubernetes object as JSON. */
export interface KubeObject {
  /** `group/version`, e.g. `apps/v1`. */
  apiVersion?: string;
  /** e.g. `Deployment`. */
  kind?: string;
  /** Name, namespace, labels, owners and the rest of `metadata`. */
  metadata: ObjectMeta;
  /** `spec`, `status` and any other top-level field. */
  [field: string]: unknown;
}

/** The metadata fields the operator uses. */
export interface ObjectMeta {
  /** Object name. */
  name?: string;
  /** Namespace; unset for cluster-scoped objects. */
  namespace?: string;
  /** Unique id the API server assigned. */
  uid?: string;
  /** Version for optimistic concurrency and watches. */
  resourceVersion?: string;
  /** Bumped by the API server on every spec change. */
  generation?: number;
  /** RFC 3339 creation time (second precision). */
  creationTimestamp?: string;
  /** Set once deletion was requested and finalizers hold the object. */
  deletionTimestamp?: string;
  /** Labels. */
  labels?: Record<string, string>;
  /** Annotations. */
  annotations?: Record<string, string>;
  /** Finalizers that must be removed before the object goes away. */
  finalizers?: string[];
  /** Owners, for garbage collection. */
  ownerReferences?: OwnerReference[];
  /** Server-side apply field ownership. */
  managedFields?: unknown[];
  /** Any other metadata field. */
  [field: string]: unknown;
}

/** An owner reference in `metadata.ownerReferences`. */
export interface OwnerReference {
  /** The owner's `apiVersion`. */
  apiVersion: string;
  /** The owner's kind. */
  kind: string;
  /** The owner's name (same namespace). */
  name: string;
  /** The owner's uid. */
  uid: string;
  /** Whether the owner is the managing controller. */
  controller?: boolean;
  /** Whether foreground deletion of the owner waits for this object. */
  blockOwnerDeletion?: boolean;
}

/** An object as the operator writes it: `apiVersion`, `kind` and a name are set. */
export interface Manifest extends KubeObject {
  /** `group/version`, e.g. `apps/v1`. */
  apiVersion: string;
  /** e.g. `Deployment`. */
  kind: string;
  /** Its name is set (and its namespace, for namespaced kinds). */
  metadata: ObjectMeta & { name: string };
}
