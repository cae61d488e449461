/**
 * Defaults for code paths that see objects the API server has not defaulted
 * (tests, examples, objects built in memory). They come from the schema's
 * `default`s, so they cannot drift from what the API server applies.
 *
 * @module
 */

import { jobWorkerPoolSpecSchema } from "./schema.ts";
import { applySchemaDefaults } from "./schema_types.ts";
import {
  API_VERSION,
  type JobWorkerPool,
  type JobWorkerPoolSpec,
  type JobWorkerPoolSpecInput,
  KIND,
} from "./types.ts";
import type { ObjectMeta } from "../runtime/object.ts";

/**
 * The spec with every schema default filled in, as the API server would.
 * Idempotent; `spec` is not changed. It does not validate: the API server
 * does that at admission.
 */
export function applyDefaults(spec: JobWorkerPoolSpecInput | JobWorkerPoolSpec): JobWorkerPoolSpec {
  return applySchemaDefaults(spec, jobWorkerPoolSpecSchema) as JobWorkerPoolSpec;
}

/**
 * A `JobWorkerPool` object with its spec defaulted, for examples and tests.
 *
 * @throws {TypeError} when `metadata.name` is empty.
 */
export function newJobWorkerPool(
  metadata: ObjectMeta & { name: string },
  spec: JobWorkerPoolSpecInput,
): JobWorkerPool {
  if (!metadata.name) throw new TypeError("A JobWorkerPool needs metadata.name: set it");
  return { apiVersion: API_VERSION, kind: KIND, metadata, spec: applyDefaults(spec) };
}

/**
 * The consumer group a pool uses when `spec.kafka.consumerGroup` is unset:
 * `jobpool.<namespace>.<name>`, unique per pool, so pools that split job
 * types between them never steal each other's partitions. Namespaces (DNS
 * labels) contain no dots, so no two pools map to one group even though pool
 * names may contain dots and both may contain dashes.
 */
export function defaultConsumerGroup(
  pool: { metadata: Pick<ObjectMeta, "name" | "namespace"> },
): string {
  return `jobpool.${pool.metadata.namespace ?? "default"}.${pool.metadata.name}`;
}

/** The consumer group a pool's workers and scaler use: the spec's, else the default. */
export function consumerGroupOf(
  pool: {
    metadata: Pick<ObjectMeta, "name" | "namespace">;
    spec: { kafka: { consumerGroup?: string } };
  },
): string {
  return pool.spec.kafka.consumerGroup ?? defaultConsumerGroup(pool);
}
