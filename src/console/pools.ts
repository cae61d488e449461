/**
 * The JobWorkerPools of a cluster, for the Pools page: read with the
 * operator's own Kubernetes client (`operator/runtime`) from a kubeconfig.
 *
 * @module
 */

import {
  consumerGroupOf,
  type JobWorkerPool,
  POOL_RESOURCE,
  toPool,
} from "../../operator/api/mod.ts";
import {
  HttpKubeClient,
  isResourceNotServed,
  type KubeClient,
  loadKubeConnection,
} from "../../operator/runtime/mod.ts";

/** A pool as the console shows it. */
export interface PoolView {
  /** `namespace/name`. */
  namespace: string;
  /** The pool's name. */
  name: string;
  /** The job types its workers run. */
  jobTypes: string[];
  /** Its consumer group. */
  consumerGroup: string;
  /** Replicas the Deployment has (status), and the bounds (spec). */
  replicas: { current?: number; min?: number; max?: number };
  /** The group's total lag, as the operator last read it (with `OPERATOR_LAG`). */
  lag?: number;
  /** Whether the operator has seen the latest spec. */
  observed: boolean;
  /** The pool's conditions. */
  conditions: { type: string; status: string; reason: string; message: string; since: string }[];
}

/** Options of {@linkcode PoolReader}. */
export interface PoolReaderOptions {
  /** The kubeconfig file. */
  kubeconfig: string;
  /** Its context; the current one when unset. */
  context?: string;
  /** One namespace; all when unset. */
  namespace?: string;
}

/** Lists JobWorkerPools; connects on first use. */
export class PoolReader {
  readonly #options: PoolReaderOptions;
  #client: Promise<HttpKubeClient> | undefined;

  /** A reader of the cluster `options.kubeconfig` points to. */
  constructor(options: PoolReaderOptions) {
    this.#options = options;
  }

  /**
   * Every pool, by namespace and name.
   *
   * @throws {Error} saying the CRD is not installed when the cluster does not serve JobWorkerPools.
   */
  async list(): Promise<PoolView[]> {
    this.#client ??= loadKubeConnection({
      kubeconfigPath: this.#options.kubeconfig,
      context: this.#options.context,
    }).then((connection) => new HttpKubeClient(connection, { requestTimeoutMs: 10_000 }));
    return await listPools(await this.#client, this.#options.namespace);
  }

  /** Closes the client's connections. */
  async close(): Promise<void> {
    (await this.#client?.catch(() => undefined))?.close();
  }
}

/** Lists the pools through `client`. */
export async function listPools(client: KubeClient, namespace?: string): Promise<PoolView[]> {
  try {
    const list = await client.list(POOL_RESOURCE, { namespace });
    return list.items
      .map((object) => toPoolView(toPool(object)))
      .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  } catch (error) {
    if (isResourceNotServed(error)) {
      throw new Error(
        "This cluster does not serve JobWorkerPools: install the CRD " +
          "(kubectl apply -f manifests/crd, or the Helm chart)",
      );
    }
    throw error;
  }
}

/** What the Pools page shows of one pool. */
export function toPoolView(pool: JobWorkerPool): PoolView {
  const { metadata, spec, status } = pool;
  const replicas: PoolView["replicas"] = {};
  if (status?.replicas !== undefined) replicas.current = status.replicas;
  if (spec.replicas?.min !== undefined) replicas.min = spec.replicas.min;
  if (spec.replicas?.max !== undefined) replicas.max = spec.replicas.max;
  return {
    namespace: metadata.namespace ?? "",
    name: metadata.name ?? "",
    jobTypes: [...(spec.jobTypes ?? [])],
    consumerGroup: status?.consumerGroup ??
      consumerGroupOf({ metadata, spec: { kafka: spec.kafka ?? {} } }),
    replicas,
    ...(status?.lag === undefined ? {} : { lag: status.lag }),
    observed: status?.observedGeneration !== undefined &&
      status.observedGeneration === metadata.generation,
    conditions: (status?.conditions ?? []).map((condition) => ({
      type: condition.type,
      status: condition.status,
      reason: condition.reason,
      message: condition.message,
      since: condition.lastTransitionTime,
    })),
  };
}
