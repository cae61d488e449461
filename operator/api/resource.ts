/**
 * The JobWorkerPool as an API resource: where it lives in the API, and how an
 * object read from the API server becomes a typed, defaulted pool.
 *
 * @module
 */

import type { KubeObject } from "../runtime/object.ts";
import type { ResourceType } from "../runtime/resources.ts";
import { applyDefaults } from "./defaults.ts";
import { API_VERSION, GROUP, type JobWorkerPool, KIND, PLURAL, VERSION } from "./types.ts";

/** The JobWorkerPool resource type. */
export const POOL_RESOURCE: ResourceType = {
  group: GROUP,
  version: VERSION,
  plural: PLURAL,
  kind: KIND,
  namespaced: true,
};

/** Whether `object` is a JobWorkerPool (its kind, a name and a spec object). */
export function isJobWorkerPool(object: KubeObject): object is JobWorkerPool {
  const spec = object["spec"];
  return object.apiVersion === API_VERSION && object.kind === KIND &&
    typeof object.metadata.name === "string" && typeof spec === "object" && spec !== null;
}

/**
 * The pool in `object`, defaulted again in case the CRD's defaults changed
 * since it was stored.
 *
 * @throws {TypeError} when `object` is not a JobWorkerPool.
 */
export function toPool(object: KubeObject): JobWorkerPool {
  if (!isJobWorkerPool(object)) {
    throw new TypeError(
      `Expected a ${API_VERSION} ${KIND}, got ${object.apiVersion}/${object.kind} ` +
        `${object.metadata.namespace}/${object.metadata.name}`,
    );
  }
  return { ...object, spec: applyDefaults(object.spec) };
}
