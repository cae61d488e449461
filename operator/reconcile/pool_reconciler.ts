/**
 * The JobWorkerPool reconciler. Given only `namespace/name`, it walks:
 *
 * 1. **read** the pool (a deleted one runs its finalizer instead; a live one
 *    holds the finalizer exactly when it needs it);
 * 2. **desired**: its generated objects, or why it cannot run (`desired.ts`);
 * 3. **apply** them, each step returning its outcome (`apply_pool.ts`);
 * 4. **status**, last, from that outcome (`status.ts`).
 *
 * Problems a person must fix become `Ready=False` with an actionable message
 * and an Event, and a late requeue, never a fast retry loop; transient API
 * errors throw so the work queue retries with backoff.
 *
 * @module
 */

import { type JobWorkerPool, POOL_RESOURCE, toPool } from "../api/mod.ts";
import { type Clock, kubeTime, systemClock } from "../runtime/clock.ts";
import type { Reconciler, ReconcileResult } from "../runtime/controller.ts";
import type { EventRecorder } from "../runtime/events.ts";
import { isApiError, type KubeClient } from "../runtime/kube_client.ts";
import type { KubeObject } from "../runtime/object.ts";
import { type ResourceType, splitKey } from "../runtime/resources.ts";
import { applyPool } from "./apply_pool.ts";
import type { ReconcileContext } from "./context.ts";
import { desiredState, type Synthesize } from "./desired.ts";
import { syncFinalizer, TopicFinalizer } from "./finalizer.ts";
import { writeStatus } from "./status.ts";

/** Options of {@linkcode PoolReconciler}. */
export interface PoolReconcilerOptions {
  /** The API client. */
  client: KubeClient;
  /** Builds the objects (`synthesizePool`). */
  synthesize: Synthesize;
  /** Where Warning Events go. */
  events: EventRecorder;
  /** The pools known to the informer cache (for consumer-group and topic conflicts). */
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

/** Reconciles JobWorkerPools. */
export class PoolReconciler implements Reconciler {
  readonly #options: PoolReconcilerOptions;
  readonly #context: ReconcileContext;
  readonly #clock: Clock;
  readonly #finalizer: TopicFinalizer;

  /** A reconciler with `options`. */
  constructor(options: PoolReconcilerOptions) {
    this.#options = options;
    this.#context = options;
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

  /** Desired state, apply, then status. */
  async #reconcileLive(pool: JobWorkerPool, signal: AbortSignal): Promise<ReconcileResult> {
    const desired = desiredState(this.#context, this.#options.synthesize, pool);
    const outcome = await applyPool(this.#context, { pool, desired }, signal);
    if (outcome.blocker) {
      const { reason, message } = outcome.blocker;
      await this.#options.events.record(pool, { type: "Warning", reason, message });
    }
    const now = kubeTime(this.#clock.now());
    await writeStatus(this.#options.client, { pool, now, outcome }, signal);
    return outcome.blocker ? { requeueAfterMs: this.#options.blockedRequeueMs ?? 300_000 } : {};
  }
}
