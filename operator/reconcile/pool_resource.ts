/**
 * The JobWorkerPool as an API resource: its type, and the conversions between
 * what the API server returns and the typed pool.
 *
 * @module
 */

import { applyDefaults, GROUP, type JobWorkerPool, KIND, PLURAL, VERSION } from "../api/mod.ts";
import type { KubeObject, ResourceType } from "../runtime/resources.ts";

/** The JobWorkerPool resource type. */
export const POOL_RESOURCE: ResourceType = {
  group: GROUP,
  version: VERSION,
  plural: PLURAL,
  kind: KIND,
  namespaced: true,
};

/** The pool as read from the API server, defaulted again in case the CRD's defaults changed. */
export function toPool(object: KubeObject): JobWorkerPool {
  const pool = object as unknown as JobWorkerPool;
  return { ...pool, spec: applyDefaults(pool.spec) };
}

/** The pool as a plain API object (what Events are about). */
export function poolObject(pool: JobWorkerPool): KubeObject {
  return pool as unknown as KubeObject;
}
