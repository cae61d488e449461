/**
 * The plain JSON shape of a Kubernetes object, as synthesis returns it.
 *
 * @module
 */

/** A Kubernetes object as plain JSON. */
export interface KubeObject {
  /** The object's `apiVersion`. */
  apiVersion: string;
  /** The object's kind. */
  kind: string;
  /** Name, namespace, labels and the rest of the metadata. */
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
    [key: string]: unknown;
  };
  /** Any other top-level field (`spec`, `status`, `data`, …). */
  [key: string]: unknown;
}
