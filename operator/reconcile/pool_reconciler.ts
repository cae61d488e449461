/**
 * The JobWorkerPool reconciler: given only `namespace/name`, it re-reads the
 * pool and makes the world match it — finalizer, generated objects (server-side
 * apply under one field manager), topic cleanup on deletion, status last.
 * Problems a person must fix become `Ready=False` with an actionable message
 * and an Event, never an endless fast retry; transient API errors throw so the
 * work queue retries with backoff.
 *
 * @module
 */

import type { JobWorkerPool } from "../api/mod.ts";
import { type Clock, kubeTime, systemClock } from "../runtime/clock.ts";
import type { Reconciler, ReconcileResult } from "../runtime/controller.ts";
import type { EventRecorder } from "../runtime/events.ts";
import { isApiError, type KubeClient } from "../runtime/kube_client.ts";
import { type ResourceType, splitKey } from "../runtime/resources.ts";
import type { KubeObject } from "../runtime/object.ts";
import { applyPool } from "./apply_pool.ts";
import { type ConditionState, REASONS } from "./conditions.ts";
import { syncFinalizer, TopicFinalizer } from "./finalizer.ts";
import { consumerGroupConflict } from "./group_conflict.ts";
import { POOL_RESOURCE, toPool } from "../api/mod.ts";
import { type StatusParts, writeStatus } from "./status.ts";
import { type Synthesize, synthesizeOrBlock } from "./synthesis.ts";

/** Options of {@linkcode PoolReconciler}. */
export interface PoolReconcilerOptions {
  /** The API client. */
  client: KubeClient;
  /** Builds the objects (`synthesizePool`). */
  synthesize: Synthesize;
  /** Where Warning Events go. */
  events: EventRecorder;
  /** The pools known to the informer cache (for consumer-group conflicts). */
  knownPools: () => JobWorkerPool[];
  /**
   * Cached objects by type and `namespace/name` (the informers), to skip reads
   * whose answer the cache already gives: a missing TriggerAuthentication, a
   * KafkaTopic this pool already owns.
   */
  cache?: (type: ResourceType, key: string) => KubeObject | undefined;
  /**
   * Failed attempts to delete a deleted pool's KafkaTopic before the finalizer
   * is removed anyway (403 and a missing namespace give up at once). @default 12
   */
  finalizeMaxAttempts?: number;
  /** Requeue after this long when a person must act (bad spec, RBAC). @default 300000 */
  blockedRequeueMs?: number;
  /** Time source (condition transition times); default the system clock. */
  clock?: Clock;
}

const NOT_RECONCILED: ConditionState = {
  status: "Unknown",
  reason: REASONS.notReconciled,
  message: "Not reconciled: see the Ready condition",
};

/** Reconciles JobWorkerPools. */
export class PoolReconciler implements Reconciler {
  readonly #options: PoolReconcilerOptions;
  readonly #clock: Clock;
  readonly #finalizer: TopicFinalizer;

  /** A reconciler with `options`. */
  constructor(options: PoolReconcilerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#finalizer = new TopicFinalizer(options, { maxAttempts: options.finalizeMaxAttempts });
  }

  /** Reconciles the pool `namespace/name`; throws on transient errors (to be retried). */
  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const raw = await this.#options.client.get(POOL_RESOURCE, splitKey(key), signal);
    if (!raw) return {};
    const pool = toPool(raw);
    try {
      if (pool.metadata.deletionTimestamp) return await this.#finalizer.finalize(pool, signal);
      await syncFinalizer(this.#options.client, pool, signal);
      return await this.#reconcileLive(pool, signal);
    } catch (error) {
      // Conflicts are routine (someone wrote first): retry quietly.
      if (!signal.aborted && !isApiError(error, 409)) {
        await this.#options.events.record(raw, {
          type: "Warning",
          reason: "ReconcileFailed",
          message: `Reconcile failed and will be retried with backoff: ${
            error instanceof Error ? error.message : String(error)
          }`,
        });
      }
      throw error;
    }
  }

  /** Group conflict, synthesis, apply, then status. */
  async #reconcileLive(pool: JobWorkerPool, signal: AbortSignal): Promise<ReconcileResult> {
    const { synthesize } = this.#options;
    const objects = await consumerGroupConflict(this.#options, pool, signal) ??
      synthesizeOrBlock(synthesize, pool);
    if ("status" in objects) return await this.#blocked(pool, objects, signal);
    const applied = await applyPool(this.#options, { pool, objects }, signal);
    if (applied.blocker) await this.#warn(pool, applied.blocker);
    await this.#writeStatus(pool, {
      blocked: applied.blocker,
      topic: applied.topic,
      scaler: applied.scaler,
      deployment: applied.deploymentView,
    }, signal);
    if (applied.blocker) return { requeueAfterMs: this.#blockedRequeueMs() };
    return {};
  }

  /** A pool nothing was applied for: a Warning Event, `Ready=False`, a late requeue. */
  async #blocked(
    pool: JobWorkerPool,
    state: ConditionState,
    signal: AbortSignal,
  ): Promise<ReconcileResult> {
    await this.#warn(pool, state);
    await this.#writeStatus(pool, {
      blocked: state,
      topic: NOT_RECONCILED,
      scaler: NOT_RECONCILED,
      deployment: undefined,
    }, signal);
    return { requeueAfterMs: this.#blockedRequeueMs() };
  }

  async #warn(pool: JobWorkerPool, state: ConditionState): Promise<void> {
    await this.#options.events.record(pool, {
      type: "Warning",
      reason: state.reason,
      message: state.message,
    });
  }

  async #writeStatus(pool: JobWorkerPool, parts: StatusParts, signal: AbortSignal): Promise<void> {
    const now = kubeTime(this.#clock.now());
    await writeStatus(this.#options.client, { pool, now, parts }, signal);
  }

  #blockedRequeueMs(): number {
    return this.#options.blockedRequeueMs ?? 300_000;
  }
}
