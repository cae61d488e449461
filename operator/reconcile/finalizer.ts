/**
 * The topic-cleanup finalizer: held exactly while deleting the pool deletes
 * its KafkaTopic. On deletion the topic is cleaned up and the finalizer
 * removed, also when the cleanup keeps failing (with a Warning Event), so a
 * pool's deletion never hangs for good.
 *
 * @module
 */

import type { JobWorkerPool } from "../api/mod.ts";
import type { ReconcileResult } from "../runtime/controller.ts";
import { isApiError, isResourceNotServed, type KubeClient } from "../runtime/kube_client.ts";
import type { ReconcileContext } from "./context.ts";
import { POOL_RESOURCE, toPool } from "../api/mod.ts";
import { deleteTopics } from "./topic_cleanup.ts";

/** The finalizer that lets the operator clean up the KafkaTopic before a pool goes away. */
export const TOPIC_FINALIZER = "jobpool.dev/topic-cleanup";

/** Whether deleting `pool` deletes its KafkaTopic (and so needs the finalizer). */
export function needsTopicCleanup(pool: JobWorkerPool): boolean {
  const { mode, strimzi } = pool.spec.topicProvisioning;
  return mode === "strimzi" && strimzi?.deletionPolicy === "Delete";
}

/**
 * Adds or removes the finalizer on a live pool: only a pool whose topic is
 * deleted with it holds up its own deletion. Updates `pool.metadata`.
 */
export async function syncFinalizer(
  client: KubeClient,
  pool: JobWorkerPool,
  signal: AbortSignal,
): Promise<void> {
  const finalizers = pool.metadata.finalizers ?? [];
  const needed = needsTopicCleanup(pool);
  if (needed === finalizers.includes(TOPIC_FINALIZER)) return;
  const patched = await client.mergePatch(POOL_RESOURCE, {
    namespace: pool.metadata.namespace ?? "",
    name: pool.metadata.name,
  }, {
    metadata: {
      finalizers: needed
        ? [...finalizers, TOPIC_FINALIZER]
        : finalizers.filter((f) => f !== TOPIC_FINALIZER),
      resourceVersion: pool.metadata.resourceVersion,
    },
  }, signal);
  pool.metadata = { ...pool.metadata, ...toPool(patched).metadata };
}

/** Runs the finalizer of deleted pools, counting failed cleanups per pool. */
export class TopicFinalizer {
  readonly #context: ReconcileContext;
  readonly #maxAttempts: number;
  /** Failed topic cleanups per pool uid, to give up after `maxAttempts`. */
  readonly #failures = new Map<string, number>();

  /**
   * A finalizer working through `context`; a cleanup that failed `maxAttempts`
   * times (default 12) is abandoned.
   */
  constructor(context: ReconcileContext, options: { maxAttempts?: number | undefined } = {}) {
    this.#context = context;
    this.#maxAttempts = options.maxAttempts ?? 12;
  }

  /** Cleans up the deleted `pool`'s topic, then removes the finalizer; throws to retry. */
  async finalize(pool: JobWorkerPool, signal: AbortSignal): Promise<ReconcileResult> {
    const finalizers = pool.metadata.finalizers ?? [];
    if (!finalizers.includes(TOPIC_FINALIZER)) return {};
    await this.#cleanUp(pool, signal);
    await this.#context.client.mergePatch(POOL_RESOURCE, {
      namespace: pool.metadata.namespace ?? "",
      name: pool.metadata.name,
    }, {
      metadata: {
        finalizers: finalizers.filter((f) => f !== TOPIC_FINALIZER),
        resourceVersion: pool.metadata.resourceVersion,
      },
    }, signal);
    return {};
  }

  /** Deletes the topic; throws to be retried, or gives up with a Warning Event. */
  async #cleanUp(pool: JobWorkerPool, signal: AbortSignal): Promise<void> {
    const id = pool.metadata.uid ?? `${pool.metadata.namespace}/${pool.metadata.name}`;
    try {
      if (needsTopicCleanup(pool)) await deleteTopics(this.#context, pool, signal);
      this.#failures.delete(id);
    } catch (error) {
      if (signal.aborted) throw error;
      // Retried with backoff, but RBAC that forbids it, a namespace that is gone,
      // or failures that persist end the cleanup.
      const failures = (this.#failures.get(id) ?? 0) + 1;
      const hopeless = isApiError(error, 403) ||
        (isApiError(error, 404) && !isResourceNotServed(error));
      if (!hopeless && failures < this.#maxAttempts) {
        this.#failures.set(id, failures);
        throw error;
      }
      this.#failures.delete(id);
      await this.#context.events.record(pool, {
        type: "Warning",
        reason: "TopicCleanupAbandoned",
        message:
          `Gave up deleting the pool's KafkaTopic after ${failures} attempt(s): ${
            error instanceof Error ? error.message : String(error)
          }; the finalizer is removed so that the pool can go: delete the KafkaTopic ` +
          `"${pool.spec.kafka.topic.name}" yourself if it should go too`,
      });
    }
  }
}
