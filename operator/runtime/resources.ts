/**
 * The Kubernetes resources the operator reads and writes, and how their REST
 * paths are built.
 *
 * @module
 */

import type { KubeObject } from "./object.ts";

/** A resource type: where it lives in the API and what its objects are called. */
export interface ResourceType {
  /** API group; `""` for the core group. */
  group: string;
  /** API version, e.g. `v1`. */
  version: string;
  /** Plural resource name in URLs, e.g. `deployments`. */
  plural: string;
  /** Kind of its objects, e.g. `Deployment`. */
  kind: string;
  /** Whether its objects live in a namespace. */
  namespaced: boolean;
}

/** `apiVersion` of a resource type, e.g. `apps/v1` or `v1`. */
export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** Options of {@linkcode resourcePath}. */
export interface ResourcePathOptions {
  /** The namespace, for namespaced types. */
  namespace?: string | undefined;
  /** An object's name; the collection when unset. */
  name?: string | undefined;
  /** A subresource such as `status`. */
  subresource?: string | undefined;
}

/** The REST path of a collection, an object or an object's subresource. */
export function resourcePath(type: ResourceType, options: ResourcePathOptions = {}): string {
  const base = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  let path = base;
  if (type.namespaced && options.namespace) {
    path += `/namespaces/${encodeURIComponent(options.namespace)}`;
  }
  path += `/${type.plural}`;
  if (options.name) path += `/${encodeURIComponent(options.name)}`;
  if (options.subresource) path += `/${options.subresource}`;
  return path;
}

/** `namespace/name` of an object (just `name` for cluster-scoped ones). */
export function objectKey(object: Pick<KubeObject, "metadata">): string {
  const { namespace, name = "" } = object.metadata;
  return namespace ? `${namespace}/${name}` : name;
}

/** Splits a `namespace/name` key. */
export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf("/");
  if (slash < 0) return { namespace: "", name: key };
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** The resource types the operator works with. */
export const RESOURCES = {
  deployments: {
    group: "apps",
    version: "v1",
    plural: "deployments",
    kind: "Deployment",
    namespaced: true,
  },
  events: { group: "", version: "v1", plural: "events", kind: "Event", namespaced: true },
  leases: {
    group: "coordination.k8s.io",
    version: "v1",
    plural: "leases",
    kind: "Lease",
    namespaced: true,
  },
  namespaces: {
    group: "",
    version: "v1",
    plural: "namespaces",
    kind: "Namespace",
    namespaced: false,
  },
  scaledObjects: {
    group: "keda.sh",
    version: "v1alpha1",
    plural: "scaledobjects",
    kind: "ScaledObject",
    namespaced: true,
  },
  triggerAuthentications: {
    group: "keda.sh",
    version: "v1alpha1",
    plural: "triggerauthentications",
    kind: "TriggerAuthentication",
    namespaced: true,
  },
  kafkaTopicsV1: {
    group: "kafka.strimzi.io",
    version: "v1",
    plural: "kafkatopics",
    kind: "KafkaTopic",
    namespaced: true,
  },
  kafkaTopicsV1beta2: {
    group: "kafka.strimzi.io",
    version: "v1beta2",
    plural: "kafkatopics",
    kind: "KafkaTopic",
    namespaced: true,
  },
} as const satisfies Record<string, ResourceType>;

/** The resource type of an object by its `apiVersion` and `kind`, from `known`. */
export function resourceTypeOf(
  object: { apiVersion?: string; kind?: string },
  known: readonly ResourceType[],
): ResourceType | undefined {
  return known.find((t) => apiVersionOf(t) === object.apiVersion && t.kind === object.kind);
}
