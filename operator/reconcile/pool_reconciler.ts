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

import {
  applyDefaults,
  consumerGroupOf,
  defaultConsumerGroup,
  GROUP,
  type JobWorkerPool,
  type JobWorkerPoolStatus,
  KIND,
  PLURAL,
  VERSION,
} from "../api/mod.ts";
import {
  kafkaTopicNamespace,
  LABELS,
  scalerName,
  triggerAuthenticationName,
  workerName,
} from "../synth/names.ts";
import { type Clock, kubeTime, systemClock } from "../runtime/clock.ts";
import type { Reconciler, ReconcileResult } from "../runtime/controller.ts";
import type { EventRecorder } from "../runtime/events.ts";
import {
  isApiError,
  isResourceNotServed,
  KubeApiError,
  type KubeClient,
} from "../runtime/kube_client.ts";
import {
  apiVersionOf,
  type KubeObject,
  RESOURCES,
  type ResourceType,
  resourceTypeOf,
  splitKey,
} from "../runtime/resources.ts";
import { computeStatus, type ConditionState, fromForeignReady, REASONS } from "./conditions.ts";
import { consumerGroupWinner } from "./consumer_group.ts";
import type { LagReader } from "./lag.ts";

/** The finalizer that lets the operator clean up the KafkaTopic before a pool goes away. */
export const TOPIC_FINALIZER = "jobpool.dev/topic-cleanup";

/** The JobWorkerPool resource type. */
export const POOL_RESOURCE: ResourceType = {
  group: GROUP,
  version: VERSION,
  plural: PLURAL,
  kind: KIND,
  namespaced: true,
};

/** The objects generated for a pool (the shape `synthesizePool` returns). */
export interface SynthesizedObjects {
  /** The worker Deployment. */
  deployment: object;
  /** The KEDA ScaledObject. */
  scaledObject: object;
  /** The KEDA TriggerAuthentication, with SASL or a TLS CA. */
  triggerAuthentication?: object | undefined;
  /** The Strimzi KafkaTopic, with `topicProvisioning.mode: strimzi`. */
  kafkaTopic?: object | undefined;
}

/**
 * A pure function from a pool to its generated objects (`synthesizePool`);
 * with `kedaOwnsReplicas: false` the Deployment carries a fixed replica count.
 */
export type Synthesize = (
  pool: JobWorkerPool,
  options: { kedaOwnsReplicas: boolean },
) => SynthesizedObjects;

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
  /** Reads the group's lag into `status.lag`; without it the field stays unset. */
  lag?: LagReader | undefined;
  /** With `lag`: reconcile again this often to refresh it. @default 30000 */
  lagRefreshMs?: number;
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

const APPLIED_TYPES: readonly ResourceType[] = [
  RESOURCES.deployments,
  RESOURCES.scaledObjects,
  RESOURCES.triggerAuthentications,
  RESOURCES.kafkaTopicsV1,
  RESOURCES.kafkaTopicsV1beta2,
];

/** Why applying one object did not work out, when a person has to act. */
interface Blocker {
  state: ConditionState;
}

/** Reconciles JobWorkerPools. */
export class PoolReconciler implements Reconciler {
  readonly #options: PoolReconcilerOptions;
  readonly #clock: Clock;
  /** Failed topic cleanups per pool uid, to give up after `finalizeMaxAttempts`. */
  readonly #finalizeFailures = new Map<string, number>();

  /** A reconciler with `options`. */
  constructor(options: PoolReconcilerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** Reconciles the pool `namespace/name`; throws on transient errors (to be retried). */
  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const { client } = this.#options;
    const { namespace, name } = splitKey(key);
    const raw = await client.get(POOL_RESOURCE, { namespace, name }, signal);
    if (!raw) return {};
    const pool = toPool(raw);
    try {
      if (pool.metadata.deletionTimestamp) return await this.#finalize(pool, signal);
      // Only a pool whose topic is deleted with it needs to hold up its own deletion.
      const finalizers = pool.metadata.finalizers ?? [];
      if (needsTopicCleanup(pool) !== finalizers.includes(TOPIC_FINALIZER)) {
        const patched = await client.mergePatch(POOL_RESOURCE, { namespace, name }, {
          metadata: {
            finalizers: needsTopicCleanup(pool)
              ? [...finalizers, TOPIC_FINALIZER]
              : finalizers.filter((f) => f !== TOPIC_FINALIZER),
            resourceVersion: pool.metadata.resourceVersion,
          },
        }, signal);
        pool.metadata = { ...pool.metadata, ...toPool(patched).metadata };
      }
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

  async #reconcileLive(pool: JobWorkerPool, signal: AbortSignal): Promise<ReconcileResult> {
    const notReconciled: ConditionState = {
      status: "Unknown",
      reason: REASONS.notReconciled,
      message: "Not reconciled: see the Ready condition",
    };
    const conflict = await this.#consumerGroupConflict(pool, signal);
    const objects = conflict ? undefined : this.#synthesize(pool);
    if (conflict || !objects || "status" in objects) {
      const state = conflict ?? objects as ConditionState;
      return await this.#blocked(
        pool,
        state,
        { topic: notReconciled, scaler: notReconciled },
        signal,
      );
    }

    const { blocker, topic, scaler, deploymentView, notes } = await this.#applyAll(
      pool,
      objects,
      signal,
    );
    if (blocker) {
      await this.#options.events.record(raw(pool), {
        type: "Warning",
        reason: blocker.reason,
        message: blocker.message,
      });
    }
    const lag = this.#options.lag ? await this.#options.lag.read(pool, signal) : undefined;
    await this.#writeStatus(pool, {
      blocked: blocker,
      topic,
      scaler,
      deployment: deploymentView,
      notes,
      lag,
    }, signal);
    if (blocker) return { requeueAfterMs: this.#blockedRequeueMs() };
    return this.#options.lag ? { requeueAfterMs: this.#options.lagRefreshMs ?? 30_000 } : {};
  }

  /**
   * `Ready=False` when another pool owns this pool's consumer group; this
   * pool's workers are then stopped, since two pools must never consume one
   * group.
   */
  async #consumerGroupConflict(
    pool: JobWorkerPool,
    signal: AbortSignal,
  ): Promise<ConditionState | undefined> {
    const winner = consumerGroupWinner(pool, this.#options.knownPools(), {
      runsGroup: (other, group) => this.#deploymentRunsGroup(other, group),
    });
    if (!winner) return undefined;
    await this.#stopWorkers(pool, signal);
    return {
      status: "False",
      reason: REASONS.consumerGroupConflict,
      message: `Consumer group "${consumerGroupOf(pool)}" is already used by JobWorkerPool ` +
        `${winner.metadata.namespace}/${winner.metadata.name}; two pools in one group steal ` +
        "each other's partitions, so this pool's workers are stopped: set " +
        "spec.kafka.consumerGroup to a group of its own, or remove it to use the default " +
        `"${defaultConsumerGroup(pool)}"`,
    };
  }

  /** The generated objects, or `Ready=False` when the spec cannot be turned into them. */
  #synthesize(pool: JobWorkerPool): SynthesizedObjects | ConditionState {
    try {
      return this.#options.synthesize(pool, { kedaOwnsReplicas: true });
    } catch (error) {
      if (!(error instanceof TypeError || error instanceof RangeError)) throw error;
      return {
        status: "False",
        reason: REASONS.invalidSpec,
        message: `The spec cannot be turned into a worker Deployment: ${error.message}`,
      };
    }
  }

  /**
   * Applies the workers' objects and the topic side by side. The topic does
   * not depend on the rest; the Deployment waits for KEDA's answer. Both
   * branches finish before this returns (the queue may then run the key
   * again), and each records its own blocker, so the one reported does not
   * depend on timing.
   */
  async #applyAll(pool: JobWorkerPool, objects: SynthesizedObjects, signal: AbortSignal): Promise<{
    blocker: ConditionState | undefined;
    topic: ConditionState;
    scaler: ConditionState;
    deploymentView: { name: string; status: never } | undefined;
    notes: string[];
  }> {
    const makeApplier =
      (slot: { blocker?: Blocker }) =>
      async (object: object): Promise<KubeObject | "notServed" | undefined> => {
        try {
          return await this.#apply(object as KubeObject, signal);
        } catch (error) {
          if (isResourceNotServed(error)) return "notServed";
          const state = blockingState(error, object as KubeObject);
          if (!state) throw error;
          slot.blocker ??= { state };
          return undefined;
        }
      };
    const workerSlot: { blocker?: Blocker } = {};
    const topicSlot: { blocker?: Blocker } = {};
    const workerNotes: string[] = [];
    const topicNotes: string[] = [];
    const [workersResult, topicResult] = await Promise.allSettled([
      this.#applyWorkers(pool, objects, makeApplier(workerSlot), workerNotes, signal),
      this.#applyTopic(pool, objects.kafkaTopic, makeApplier(topicSlot), topicNotes, signal),
    ]);
    if (workersResult.status === "rejected") throw workersResult.reason;
    if (topicResult.status === "rejected") throw topicResult.reason;
    const topic = topicResult.value;
    if (topic.state.status === "False" && topic.blocking) {
      topicSlot.blocker ??= { state: topic.state };
    }
    return {
      blocker: (workerSlot.blocker ?? topicSlot.blocker)?.state,
      topic: topic.state,
      scaler: workersResult.value.scaler,
      deploymentView: workersResult.value.deploymentView,
      notes: [...workerNotes, ...topicNotes],
    };
  }

  /** TriggerAuthentication and ScaledObject, then the Deployment (fixed replicas without KEDA). */
  async #applyWorkers(
    pool: JobWorkerPool,
    objects: SynthesizedObjects,
    applyOrBlock: (object: object) => Promise<KubeObject | "notServed" | undefined>,
    notes: string[],
    signal: AbortSignal,
  ): Promise<{
    scaler: ConditionState;
    deploymentView: { name: string; status: never } | undefined;
  }> {
    let scaler: ConditionState;
    let kedaMissing = false;
    const auth = objects.triggerAuthentication
      ? await applyOrBlock(objects.triggerAuthentication)
      : undefined;
    const scaled = auth === "notServed" ? "notServed" : await applyOrBlock(objects.scaledObject);
    if (scaled === "notServed") {
      kedaMissing = true;
      scaler = {
        status: "False",
        reason: REASONS.crdNotInstalled,
        message: "KEDA's ScaledObject CRD (scaledobjects.keda.sh) is not installed, so the " +
          `workers run a fixed ${fixedReplicas(pool)} replica(s) (spec.replicas.min, at least ` +
          "one): install KEDA to scale on consumer lag",
      };
      notes.push(`KEDA is not installed: running ${fixedReplicas(pool)} replica(s)`);
    } else if (scaled === undefined) {
      scaler = { status: "False", reason: REASONS.applyFailed, message: "See the Ready condition" };
    } else {
      scaler = fromForeignReady(scaled["status"] as never, {
        readyReason: REASONS.scalerReady,
        notReadyReason: REASONS.scalerNotReady,
        what: `ScaledObject ${scaled.metadata.name}`,
        missing: {
          status: "Unknown",
          reason: REASONS.waitingForKeda,
          message: `ScaledObject ${scaled.metadata.name} is applied; waiting for KEDA to report ` +
            "on it",
        },
      });
    }
    if (!objects.triggerAuthentication && !kedaMissing) await this.#deleteStaleAuth(pool, signal);
    const deployment = kedaMissing
      ? fixedReplicaDeployment(this.#options.synthesize, pool)
      : objects.deployment;
    const applied = await applyOrBlock(deployment);
    const deploymentView = applied && applied !== "notServed"
      ? { name: applied.metadata.name ?? "", status: applied["status"] as never }
      : undefined;
    return { scaler, deploymentView };
  }

  async #applyTopic(
    pool: JobWorkerPool,
    kafkaTopic: object | undefined,
    applyOrBlock: (object: object) => Promise<KubeObject | "notServed" | undefined>,
    notes: string[],
    signal: AbortSignal,
  ): Promise<{ state: ConditionState; blocking: boolean }> {
    if (!kafkaTopic) {
      return {
        blocking: false,
        state: {
          status: "True",
          reason: REASONS.topicNotManaged,
          message: `Topic "${pool.spec.kafka.topic.name}" is not provisioned by the operator ` +
            "(spec.topicProvisioning.mode is none): it must exist already",
        },
      };
    }
    const desired = kafkaTopic as KubeObject;
    const owned = await this.#topicOwnedElsewhere(pool, desired, signal);
    if (owned) return { blocking: true, state: owned };
    const applied = await applyOrBlock(kafkaTopic);
    if (applied === "notServed") {
      notes.push("Strimzi is not installed: the topic is not provisioned");
    }
    return { blocking: false, state: topicCondition(desired, applied) };
  }

  /**
   * `Ready=False` when the KafkaTopic `desired` already exists for someone else
   * (another live pool, or not made by this operator); a topic this pool owns,
   * or one an earlier pool left behind, is fine.
   */
  async #topicOwnedElsewhere(
    pool: JobWorkerPool,
    desired: KubeObject,
    signal: AbortSignal,
  ): Promise<ConditionState | undefined> {
    const type = resourceTypeOf(desired, APPLIED_TYPES);
    if (!type) return undefined;
    const where = `${desired.metadata.namespace}/${desired.metadata.name}`;
    const cached = this.#options.cache?.(type, where);
    if (cached && cached.metadata.labels?.[LABELS.poolUid] === pool.metadata.uid) return undefined;
    let existing: KubeObject | undefined;
    try {
      existing = await this.#options.client.get(type, {
        namespace: desired.metadata.namespace ?? "",
        name: desired.metadata.name ?? "",
      }, signal);
    } catch (error) {
      if (isResourceNotServed(error)) return undefined;
      throw error;
    }
    const labels = existing?.metadata.labels ?? {};
    if (!existing || labels[LABELS.poolUid] === pool.metadata.uid) return undefined;
    if (await this.#isOrphan(existing, signal)) return undefined;
    const by = labels[LABELS.poolNamespace]
      ? `JobWorkerPool ${labels[LABELS.poolNamespace]}/${labels[LABELS.poolName]}`
      : "something other than this operator";
    return {
      status: "False",
      reason: REASONS.topicOwnedByAnotherPool,
      message: `KafkaTopic ${where} already exists and belongs to ${by}: give this ` +
        "pool its own spec.kafka.topic.name, or set spec.topicProvisioning.mode to none " +
        "to share the existing topic",
    };
  }

  /**
   * Whether a KafkaTopic made for a pool outlived it (deletionPolicy Retain):
   * its labels name a pool that no longer exists, or one with another uid.
   * Such a topic is adopted by the pool that asks for it. Topics without
   * jobpool labels are never orphans.
   */
  async #isOrphan(topic: KubeObject, signal: AbortSignal): Promise<boolean> {
    const labels = topic.metadata.labels ?? {};
    const namespace = labels[LABELS.poolNamespace];
    const name = labels[LABELS.poolName];
    const uid = labels[LABELS.poolUid];
    if (!namespace || !name || !uid) return false;
    const owner = await this.#options.client.get(POOL_RESOURCE, { namespace, name }, signal);
    return owner?.metadata.uid !== uid;
  }

  /** Whether the cached worker Deployment of `pool` runs consumer group `group` with replicas. */
  #deploymentRunsGroup(pool: JobWorkerPool, group: string): boolean {
    const key = `${pool.metadata.namespace}/${workerName(pool)}`;
    const deployment = this.#options.cache?.(RESOURCES.deployments, key);
    if (!deployment) return false;
    if (!deployment.metadata.ownerReferences?.some((r) => r.uid === pool.metadata.uid)) {
      return false;
    }
    const spec = deployment["spec"] as DeploymentSpecView | undefined;
    if (spec?.replicas === 0) return false;
    return spec?.template?.spec?.containers?.some((c) =>
      c.env?.some((e) => e.name === "KAFKA_JOB_CONSUMER_GROUP" && e.value === group)
    ) ?? false;
  }

  /** Deletes the pool's ScaledObject and worker Deployment (when this pool owns them). */
  async #stopWorkers(pool: JobWorkerPool, signal: AbortSignal): Promise<void> {
    const namespace = pool.metadata.namespace ?? "";
    for (
      const [type, name] of [
        [RESOURCES.scaledObjects, scalerName(pool)],
        [RESOURCES.deployments, workerName(pool)],
      ] as const
    ) {
      try {
        const existing = await this.#options.client.get(type, { namespace, name }, signal);
        if (!existing?.metadata.ownerReferences?.some((r) => r.uid === pool.metadata.uid)) continue;
        await this.#options.client.delete(type, { namespace, name }, signal);
        await this.#options.events.record(raw(pool), {
          type: "Warning",
          reason: "WorkersStopped",
          message: `Deleted ${existing.kind} ${namespace}/${name}: its consumer group belongs to ` +
            "another pool",
        });
      } catch (error) {
        if (!isResourceNotServed(error)) throw error;
      }
    }
  }

  async #deleteStaleAuth(pool: JobWorkerPool, signal: AbortSignal): Promise<void> {
    const { client } = this.#options;
    const key = { namespace: pool.metadata.namespace ?? "", name: triggerAuthenticationName(pool) };
    const cache = this.#options.cache;
    if (cache && !cache(RESOURCES.triggerAuthentications, `${key.namespace}/${key.name}`)) return;
    try {
      const existing = await client.get(RESOURCES.triggerAuthentications, key, signal);
      const owned = existing?.metadata.ownerReferences?.some((r) => r.uid === pool.metadata.uid);
      if (owned) await client.delete(RESOURCES.triggerAuthentications, key, signal);
    } catch (error) {
      if (!isResourceNotServed(error)) throw error;
    }
  }

  async #blocked(
    pool: JobWorkerPool,
    state: ConditionState,
    parts: { topic: ConditionState; scaler: ConditionState },
    signal: AbortSignal,
  ): Promise<ReconcileResult> {
    await this.#options.events.record(raw(pool), {
      type: "Warning",
      reason: state.reason,
      message: state.message,
    });
    await this.#writeStatus(pool, { blocked: state, ...parts, deployment: undefined }, signal);
    return { requeueAfterMs: this.#blockedRequeueMs() };
  }

  async #writeStatus(
    pool: JobWorkerPool,
    parts: {
      blocked: ConditionState | undefined;
      topic: ConditionState;
      scaler: ConditionState;
      deployment: { name: string; status: never } | undefined;
      notes?: string[];
      lag?: number | undefined;
    },
    signal: AbortSignal,
  ): Promise<void> {
    const status: JobWorkerPoolStatus = computeStatus({
      generation: pool.metadata.generation ?? 0,
      previous: pool.status,
      now: kubeTime(this.#clock.now()),
      consumerGroup: consumerGroupOf(pool),
      ...parts,
    });
    // Level-based: a status that already says this needs no write (and causes no event).
    if (pool.status && stableJson(pool.status) === stableJson(status)) return;
    await this.#options.client.apply(POOL_RESOURCE, {
      apiVersion: apiVersionOf(POOL_RESOURCE),
      kind: KIND,
      metadata: { name: pool.metadata.name, namespace: pool.metadata.namespace ?? "" },
      status,
    }, { subresource: "status", signal });
  }

  async #finalize(pool: JobWorkerPool, signal: AbortSignal): Promise<ReconcileResult> {
    const { client, events } = this.#options;
    const finalizers = pool.metadata.finalizers ?? [];
    if (!finalizers.includes(TOPIC_FINALIZER)) return {};
    const id = pool.metadata.uid ?? `${pool.metadata.namespace}/${pool.metadata.name}`;
    try {
      if (needsTopicCleanup(pool)) await this.#deleteTopics(pool, signal);
      this.#finalizeFailures.delete(id);
    } catch (error) {
      if (signal.aborted) throw error;
      // Retried with backoff, but a pool's deletion never hangs for good: RBAC that forbids
      // it, a namespace that is gone, or failures that persist end the cleanup.
      const failures = (this.#finalizeFailures.get(id) ?? 0) + 1;
      const hopeless = isApiError(error, 403) ||
        (isApiError(error, 404) && !isResourceNotServed(error));
      const maxAttempts = this.#options.finalizeMaxAttempts ?? 12;
      if (!hopeless && failures < maxAttempts) {
        this.#finalizeFailures.set(id, failures);
        throw error;
      }
      this.#finalizeFailures.delete(id);
      await events.record(raw(pool), {
        type: "Warning",
        reason: "TopicCleanupAbandoned",
        message:
          `Gave up deleting the pool's KafkaTopic after ${failures} attempt(s): ${
            error instanceof Error ? error.message : String(error)
          }; the finalizer is removed so that the pool can go: delete the KafkaTopic ` +
          `"${pool.spec.kafka.topic.name}" yourself if it should go too`,
      });
    }
    await client.mergePatch(POOL_RESOURCE, {
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

  /** Deletes the KafkaTopics made for `pool`, except one another live pool still uses. */
  async #deleteTopics(pool: JobWorkerPool, signal: AbortSignal): Promise<void> {
    const { client, events } = this.#options;
    const preferred = pool.spec.topicProvisioning.strimzi?.apiVersion === "v1beta2"
      ? [RESOURCES.kafkaTopicsV1beta2, RESOURCES.kafkaTopicsV1]
      : [RESOURCES.kafkaTopicsV1, RESOURCES.kafkaTopicsV1beta2];
    for (const type of preferred) {
      try {
        const topics = await client.list(type, {
          labelSelector: `${LABELS.poolUid}=${pool.metadata.uid}`,
          signal,
        });
        for (const topic of topics.items) {
          const where = `${topic.metadata.namespace}/${topic.metadata.name}`;
          const user = topicUser(pool, this.#options.knownPools());
          if (user) {
            await events.record(raw(pool), {
              type: "Warning",
              reason: "TopicKept",
              message: `Kept KafkaTopic ${where} despite deletionPolicy Delete: JobWorkerPool ` +
                `${user.metadata.namespace}/${user.metadata.name} uses topic ` +
                `"${pool.spec.kafka.topic.name}" on the same Kafka cluster`,
            });
            continue;
          }
          const deleted = await client.delete(type, {
            namespace: topic.metadata.namespace ?? "",
            name: topic.metadata.name ?? "",
          }, signal);
          if (deleted) {
            await events.record(raw(pool), {
              type: "Normal",
              reason: "TopicDeleted",
              message: `Deleted KafkaTopic ${where} (deletionPolicy Delete)`,
            });
          }
        }
        return;
      } catch (error) {
        if (!isResourceNotServed(error)) throw error;
      }
    }
  }

  async #apply(object: KubeObject, signal: AbortSignal): Promise<KubeObject> {
    const type = resourceTypeOf(object, APPLIED_TYPES);
    if (!type) {
      throw new TypeError(
        `Cannot apply ${object.apiVersion}/${object.kind}: the operator does not know this kind`,
      );
    }
    return await this.#options.client.apply(type, object, { signal });
  }

  #blockedRequeueMs(): number {
    return this.#options.blockedRequeueMs ?? 300_000;
  }
}

/** The pool as read from the API server, defaulted again in case the CRD's defaults changed. */
function toPool(object: KubeObject): JobWorkerPool {
  const pool = object as unknown as JobWorkerPool;
  return { ...pool, spec: applyDefaults(pool.spec) };
}

/** JSON with object keys sorted, for comparing API objects. */
function stableJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
        : v,
  );
}

/** `TopicReady` from the result of applying the KafkaTopic `desired`. */
function topicCondition(
  desired: KubeObject,
  applied: KubeObject | "notServed" | undefined,
): ConditionState {
  const where = `${desired.metadata.namespace}/${desired.metadata.name}`;
  if (applied === "notServed") {
    return {
      status: "False",
      reason: REASONS.crdNotInstalled,
      message:
        `Strimzi's KafkaTopic CRD (kafkatopics.kafka.strimzi.io, ${
          desired.apiVersion ?? ""
        }) is not installed: install the Strimzi operator, or set ` +
        "spec.topicProvisioning.mode to none and create the topic yourself",
    };
  }
  if (applied === undefined) {
    return { status: "False", reason: REASONS.applyFailed, message: "See the Ready condition" };
  }
  return fromForeignReady(applied["status"] as never, {
    readyReason: REASONS.topicReady,
    notReadyReason: REASONS.topicNotReady,
    what: `KafkaTopic ${where}`,
    missing: {
      status: "Unknown",
      reason: REASONS.waitingForTopicOperator,
      message: `KafkaTopic ${where} is applied; waiting for the Strimzi topic operator to ` +
        "report on it",
    },
  });
}

/** Replicas of the Deployment when nothing scales it: `replicas.min`, at least one. */
function fixedReplicas(pool: JobWorkerPool): number {
  return Math.max(1, pool.spec.replicas.min);
}

/** The Deployment with a fixed replica count; set here when the synthesizer leaves it out. */
function fixedReplicaDeployment(synthesize: Synthesize, pool: JobWorkerPool): object {
  const deployment = structuredClone(
    synthesize(pool, { kedaOwnsReplicas: false }).deployment,
  ) as KubeObject;
  const spec = (deployment["spec"] ??= {}) as Record<string, unknown>;
  spec["replicas"] ??= fixedReplicas(pool);
  return deployment;
}

/** The parts of a Deployment's spec that say which group its workers consume. */
interface DeploymentSpecView {
  replicas?: number;
  template?: {
    spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> }> };
  };
}

/** Whether deleting `pool` deletes its KafkaTopic (and so needs the finalizer). */
function needsTopicCleanup(pool: JobWorkerPool): boolean {
  const { mode, strimzi } = pool.spec.topicProvisioning;
  return mode === "strimzi" && strimzi?.deletionPolicy === "Delete";
}

/**
 * Another live pool that uses `pool`'s topic on the same Kafka cluster: the
 * same Strimzi cluster, or a bootstrap server in common.
 */
function topicUser(
  pool: JobWorkerPool,
  pools: readonly JobWorkerPool[],
): JobWorkerPool | undefined {
  const servers = new Set(pool.spec.kafka.bootstrapServers);
  const cluster = (p: JobWorkerPool) =>
    p.spec.topicProvisioning.mode === "strimzi" && p.spec.topicProvisioning.strimzi
      ? `${kafkaTopicNamespace(p)}/${p.spec.topicProvisioning.strimzi.clusterName}`
      : undefined;
  return pools.find((other) =>
    other.metadata.uid !== pool.metadata.uid && !other.metadata.deletionTimestamp &&
    other.spec.kafka.topic.name === pool.spec.kafka.topic.name &&
    ((cluster(other) !== undefined && cluster(other) === cluster(pool)) ||
      other.spec.kafka.bootstrapServers.some((server) => servers.has(server)))
  );
}

function raw(pool: JobWorkerPool): KubeObject {
  return pool as unknown as KubeObject;
}

/** A condition for errors a person must fix; `undefined` for transient ones. */
function blockingState(error: unknown, object: KubeObject): ConditionState | undefined {
  if (!(error instanceof KubeApiError)) return undefined;
  const what = `${object.kind} ${object.metadata.namespace}/${object.metadata.name}`;
  if (error.code === 422 || error.code === 400) {
    return {
      status: "False",
      reason: REASONS.generatedObjectRejected,
      message: `The API server rejected the generated ${what}: ${error.message}; ` +
        "fix the pool's spec accordingly",
    };
  }
  if (error.code === 403) {
    return {
      status: "False",
      reason: REASONS.forbidden,
      message: `The operator may not apply ${what}: ${error.message}; grant its ` +
        "ServiceAccount the RBAC permissions from the operator's ClusterRole",
    };
  }
  if (isApiError(error, 404) && object.kind === "KafkaTopic") {
    return {
      status: "False",
      reason: REASONS.topicNamespaceNotFound,
      message: `Cannot create ${what}: namespace ${object.metadata.namespace} does not exist; ` +
        "set spec.topicProvisioning.strimzi.namespace to the Kafka cluster's namespace",
    };
  }
  return undefined;
}
