/**
 * What the reconciler watches and which pool each change concerns: informers
 * on JobWorkerPools, on the objects generated for them (found by owner
 * reference) and on KafkaTopics (found by label, since they may live in the
 * Kafka cluster's namespace, in either served version). Every change hands a
 * pool's `namespace/name` to `enqueue`; the caches answer the reconciler's
 * reads.
 *
 * @module
 */

import { isJobWorkerPool, type JobWorkerPool, POOL_RESOURCE } from "../api/mod.ts";
import { LABELS, MANAGER_NAME } from "../synth/names.ts";
import type { Clock } from "../runtime/clock.ts";
import { Informer } from "../runtime/informer.ts";
import type { KubeClient } from "../runtime/kube_client.ts";
import type { KubeObject } from "../runtime/object.ts";
import { objectKey, RESOURCES, type ResourceType } from "../runtime/resources.ts";
import { poolsToWake } from "./pool_wake.ts";
import { TOPIC_TYPES } from "./topic_cleanup.ts";

/** Options of {@linkcode PoolWatches}. */
export interface PoolWatchesOptions {
  /** The API client. */
  client: KubeClient;
  /** Only pools (and their objects) in this namespace; all when unset. */
  namespace?: string | undefined;
  /** Told the key of every pool a change concerns. */
  enqueue: (key: string) => void;
  /** Restart watches silent for this long. */
  watchdogMs: number;
  /** Longest wait before an informer lists again after errors. */
  maxBackoffMs: number;
  /** Time source. */
  clock: Clock;
}

/** The operator's informers, and the caches they keep. */
export class PoolWatches {
  readonly #pools: Informer;
  readonly #byType: Map<ResourceType, Informer>;

  /** Informers for `options`; {@linkcode PoolWatches.run} starts them. */
  constructor(options: PoolWatchesOptions) {
    const { enqueue, namespace } = options;
    const common = {
      client: options.client,
      namespace,
      watchdogMs: options.watchdogMs,
      clock: options.clock,
      maxBackoffMs: options.maxBackoffMs,
    };
    this.#pools = new Informer({
      ...common,
      type: POOL_RESOURCE,
      onEvent: (type, object, old) => {
        // A new status.lag from the lag loop changes nothing a reconcile reads.
        if (type === "updated" && old && onlyLagChanged(old, object)) return;
        enqueue(objectKey(object));
        if (!isJobWorkerPool(object)) return;
        for (const other of poolsToWake(object, this.pools())) enqueue(objectKey(other));
      },
    });
    const byOwner = (_type: unknown, object: KubeObject) => {
      const key = ownerKey(object);
      if (key) enqueue(key);
    };
    // A resource type that comes back (its CRD was installed): every pool may need it now.
    const onRecovered = () => {
      for (const pool of this.pools()) enqueue(objectKey(pool));
    };
    const managed = `${LABELS.managedBy}=${MANAGER_NAME}`;
    const owned = [RESOURCES.deployments, RESOURCES.scaledObjects, RESOURCES.triggerAuthentications]
      .map((type) =>
        [
          type,
          new Informer({ ...common, type, labelSelector: managed, onEvent: byOwner, onRecovered }),
        ] as const
      );
    const topics = TOPIC_TYPES.map((type) =>
      [
        type,
        new Informer({
          ...common,
          namespace: undefined,
          type,
          labelSelector: namespace ? `${LABELS.poolNamespace}=${namespace}` : LABELS.poolUid,
          onEvent: (_type, object) => {
            const key = topicOwnerKey(object);
            if (key) enqueue(key);
          },
          onRecovered,
        }),
      ] as const
    );
    this.#byType = new Map([...owned, ...topics]);
  }

  /** Lists and watches until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.#pools, ...this.#byType.values()].map((i) => i.run(signal)));
  }

  /** Resolves once the pools have been listed (or `signal` aborts). */
  waitForPools(signal: AbortSignal): Promise<void> {
    return this.#pools.waitForSync(signal);
  }

  /** Every cached pool. */
  pools(): JobWorkerPool[] {
    return this.#pools.list().filter(isJobWorkerPool);
  }

  /** The cached object of `type` at `namespace/name`. */
  cached(type: ResourceType, key: string): KubeObject | undefined {
    return this.#byType.get(type)?.get(key);
  }
}

/** Whether `next` differs from `previous` in `status.lag` (and versions) only. */
function onlyLagChanged(previous: KubeObject, next: KubeObject): boolean {
  const strip = (object: KubeObject) => {
    const { resourceVersion: _rv, managedFields: _mf, ...metadata } = object.metadata;
    const { lag: _lag, ...status } = (object["status"] ?? {}) as Record<string, unknown>;
    return JSON.stringify({ ...object, metadata, status });
  };
  return strip(previous) === strip(next);
}

/** `namespace/name` of the JobWorkerPool that owns `object`, if any. */
export function ownerKey(object: KubeObject): string | undefined {
  const owner = object.metadata.ownerReferences?.find((ref) =>
    ref.kind === POOL_RESOURCE.kind && ref.apiVersion.startsWith(`${POOL_RESOURCE.group}/`)
  );
  return owner ? `${object.metadata.namespace}/${owner.name}` : undefined;
}

/** `namespace/name` of the pool a KafkaTopic was made for, from its labels. */
export function topicOwnerKey(object: KubeObject): string | undefined {
  const labels = object.metadata.labels ?? {};
  const namespace = labels[LABELS.poolNamespace];
  const name = labels[LABELS.poolName];
  return namespace && name ? `${namespace}/${name}` : undefined;
}
