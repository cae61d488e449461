/**
 * Names, labels and owner references of the objects synthesized for a pool.
 * Everything here is a pure function of the pool, so the reconciler and the
 * tests can find the objects without synthesizing them.
 *
 * @module
 */

import { API_VERSION, type JobWorkerPool, KIND } from "../api/mod.ts";
import type { OwnerReference } from "../runtime/object.ts";

/** Label keys jobpool puts on what it generates. */
export const LABELS = {
  name: "app.kubernetes.io/name",
  instance: "app.kubernetes.io/instance",
  managedBy: "app.kubernetes.io/managed-by",
  component: "app.kubernetes.io/component",
  /** On objects outside the pool's namespace (the KafkaTopic), for cleanup without owner refs. */
  poolName: "jobpool.dev/pool-name",
  poolNamespace: "jobpool.dev/pool-namespace",
  poolUid: "jobpool.dev/pool-uid",
} as const;

/** `app.kubernetes.io/name` of worker objects. */
export const WORKER_APP_NAME = "jobpool-worker";

/** `app.kubernetes.io/managed-by` of everything the operator generates. */
export const MANAGER_NAME = "jobpool-operator";

/** The worker container's name. */
export const WORKER_CONTAINER_NAME = "worker";

/** The worker's metrics and probe port. */
export const METRICS_PORT = 9090;

/** The name of the worker Deployment: `<pool>-worker`. */
export function workerName(pool: JobWorkerPool): string {
  return `${pool.metadata.name}-worker`;
}

/** The name of the KEDA ScaledObject: `<pool>-scaler`. */
export function scalerName(pool: JobWorkerPool): string {
  return `${pool.metadata.name}-scaler`;
}

/** The name of the KEDA TriggerAuthentication: `<pool>-kafka-auth`. */
export function triggerAuthenticationName(pool: JobWorkerPool): string {
  return `${pool.metadata.name}-kafka-auth`;
}

/**
 * The name of the KafkaTopic resource: the topic name when it is a valid
 * object name, else a lower-cased, sanitized form with a short hash of the
 * topic name (`spec.topicName` always carries the real name).
 */
export function kafkaTopicResourceName(topic: string): string {
  if (/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(topic) && topic.length <= 253) return topic;
  const cleaned = topic.toLowerCase().replace(/[^a-z0-9.-]+/g, "-").replace(/^[-.]+|[-.]+$/g, "");
  return `${cleaned.slice(0, 240) || "topic"}-${fnv1a(topic)}`;
}

/** The namespace the KafkaTopic goes to: the Strimzi cluster's, else the pool's. */
export function kafkaTopicNamespace(pool: JobWorkerPool): string {
  return pool.spec.topicProvisioning.strimzi?.namespace ?? poolNamespace(pool);
}

/** The pool's namespace (`default` when the object has none). */
export function poolNamespace(pool: JobWorkerPool): string {
  return pool.metadata.namespace ?? "default";
}

/** Labels on every object generated for the pool. */
export function commonLabels(pool: JobWorkerPool): Record<string, string> {
  return {
    [LABELS.name]: WORKER_APP_NAME,
    [LABELS.instance]: pool.metadata.name,
    [LABELS.managedBy]: MANAGER_NAME,
  };
}

/** The worker Pods' selector labels (immutable once the Deployment exists). */
export function selectorLabels(pool: JobWorkerPool): Record<string, string> {
  return { [LABELS.name]: WORKER_APP_NAME, [LABELS.instance]: pool.metadata.name };
}

/** Labels tying an object in another namespace back to its pool. */
export function poolLabels(pool: JobWorkerPool): Record<string, string> {
  return {
    [LABELS.poolName]: pool.metadata.name,
    [LABELS.poolNamespace]: poolNamespace(pool),
    ...(pool.metadata.uid ? { [LABELS.poolUid]: pool.metadata.uid } : {}),
  };
}

/**
 * The controller owner reference to the pool, for objects in its namespace;
 * none when the pool has no `uid` yet (not created on a server).
 */
export function ownerReferences(pool: JobWorkerPool): OwnerReference[] {
  if (!pool.metadata.uid) return [];
  return [{
    apiVersion: API_VERSION,
    kind: KIND,
    name: pool.metadata.name,
    uid: pool.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  }];
}

function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}
