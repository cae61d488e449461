import assert from "node:assert/strict";
import { type JobWorkerPool, newJobWorkerPool } from "../api/mod.ts";
import { synthesizePool } from "../synth/mod.ts";
import { FakeClock } from "../runtime/clock.ts";
import { EventRecorder } from "../runtime/events.ts";
import {
  type ApplyOptions,
  KubeApiError,
  type KubeClient,
  type ListOptions,
  type ObjectList,
  type WatchEvent,
} from "../runtime/kube_client.ts";
import { type ResourceType } from "../runtime/resources.ts";
import type { KubeObject } from "../runtime/object.ts";
import { TOPIC_FINALIZER } from "./finalizer.ts";
import { PoolReconciler } from "./pool_reconciler.ts";
import { POOL_RESOURCE } from "../api/mod.ts";
import type { Synthesize } from "./desired.ts";

/**
 * Status the other controllers write, as they would report a healthy object:
 * kube-controller-manager on Deployments, KEDA on ScaledObjects, Strimzi on KafkaTopics.
 */
const HEALTHY_STATUS: Record<string, unknown> = {
  deployments: {
    replicas: 1,
    conditions: [{ type: "Available", status: "True", reason: "MinimumReplicasAvailable" }],
  },
  scaledobjects: { conditions: [{ type: "Ready", status: "True", reason: "ScaledObjectReady" }] },
  kafkatopics: { conditions: [{ type: "Ready", status: "True" }] },
};

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const result: Record<string, unknown> =
    target && typeof target === "object" && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** An in-memory API: objects by `plural/namespace/name`; some plurals "not served". */
class MemoryClient implements KubeClient {
  objects = new Map<string, KubeObject>();
  /** Whether new Deployments, ScaledObjects and KafkaTopics get a healthy status at once. */
  healthy = true;
  notServed = new Set<string>();
  rejected = new Map<string, string>();
  applied: Array<{ plural: string; object: KubeObject; subresource?: string }> = [];
  created: Array<{ plural: string; object: KubeObject }> = [];
  #rv = 1;

  #key(type: ResourceType, namespace: string | undefined, name: string): string {
    return `${type.plural}/${namespace ?? ""}/${name}`;
  }
  #check(type: ResourceType): void {
    if (this.notServed.has(type.plural)) {
      throw new KubeApiError("request", { code: 404, reason: "NotFound", message: "not served" });
    }
  }
  get(
    type: ResourceType,
    key: { namespace?: string; name: string },
  ): Promise<KubeObject | undefined> {
    this.#check(type);
    return Promise.resolve(
      structuredClone(this.objects.get(this.#key(type, key.namespace, key.name))),
    );
  }
  list(type: ResourceType, options: ListOptions = {}): Promise<ObjectList> {
    this.#check(type);
    const [label, value] = (options.labelSelector ?? "").split("=");
    const items = [...this.objects.entries()].filter(([k, o]) =>
      k.startsWith(`${type.plural}/`) && (!label || o.metadata.labels?.[label] === value)
    ).map(([, o]) => structuredClone(o));
    return Promise.resolve({ items, resourceVersion: String(this.#rv) });
  }
  watch(): AsyncIterable<WatchEvent> {
    throw new Error("not used");
  }
  apply(type: ResourceType, object: KubeObject, options: ApplyOptions = {}): Promise<KubeObject> {
    this.#check(type);
    const reason = this.rejected.get(type.plural);
    if (reason) throw new KubeApiError("apply", { code: 422, reason: "Invalid", message: reason });
    const key = this.#key(type, object.metadata.namespace, object.metadata.name ?? "");
    this.applied.push({
      plural: type.plural,
      object,
      ...(options.subresource ? { subresource: options.subresource } : {}),
    });
    const existing = this.objects.get(key);
    // Fields the applied object leaves out stay as they are (as with server-side apply,
    // for fields other managers own).
    const merged = options.subresource === "status"
      ? { ...existing!, status: object["status"] }
      : mergePatch(existing, structuredClone(object)) as KubeObject;
    merged.metadata.resourceVersion = String(++this.#rv);
    if (this.healthy && !existing && HEALTHY_STATUS[type.plural]) {
      (merged as KubeObject)["status"] = structuredClone(HEALTHY_STATUS[type.plural]);
    }
    this.objects.set(key, merged as KubeObject);
    return Promise.resolve(structuredClone(merged as KubeObject));
  }
  mergePatch(
    type: ResourceType,
    key: { namespace?: string; name: string },
    patch: unknown,
  ): Promise<KubeObject> {
    const k = this.#key(type, key.namespace, key.name);
    const { metadata = {}, ...rest } = patch as { metadata?: Record<string, unknown> };
    const { resourceVersion: _rv, ...meta } = metadata;
    const merged = mergePatch(this.objects.get(k)!, { ...rest, metadata: meta }) as KubeObject;
    merged.metadata.resourceVersion = String(++this.#rv);
    this.objects.set(k, merged);
    return Promise.resolve(structuredClone(merged));
  }
  create(type: ResourceType, object: KubeObject): Promise<KubeObject> {
    this.created.push({ plural: type.plural, object: structuredClone(object) });
    if (object.metadata.name && type.plural !== "events") {
      const key = this.#key(type, object.metadata.namespace, object.metadata.name);
      if (this.objects.has(key)) {
        throw new KubeApiError("create", { code: 409, reason: "AlreadyExists", message: key });
      }
      const stored: KubeObject = {
        ...structuredClone(object),
        metadata: { ...object.metadata, resourceVersion: String(++this.#rv) },
      };
      if (this.healthy && HEALTHY_STATUS[type.plural]) {
        stored["status"] = structuredClone(HEALTHY_STATUS[type.plural]);
      }
      this.objects.set(key, stored);
    }
    return Promise.resolve(object);
  }
  replace(_type: ResourceType, object: KubeObject): Promise<KubeObject> {
    return Promise.resolve(object);
  }
  /** Versions served by API group; the KEDA and Strimzi groups by default, unless not served. */
  servedVersions(group: string): Promise<string[]> {
    const versions: Record<string, [string, string][]> = {
      "keda.sh": [["v1alpha1", "scaledobjects"]],
      "kafka.strimzi.io": [["v1", "kafkatopics"], ["v1beta2", "kafkatopics"]],
    };
    return Promise.resolve(
      (versions[group] ?? []).filter(([, plural]) => !this.notServed.has(plural)).map(([v]) => v),
    );
  }
  delete(type: ResourceType, key: { namespace?: string; name: string }): Promise<boolean> {
    this.#check(type);
    return Promise.resolve(this.objects.delete(this.#key(type, key.namespace, key.name)));
  }
}

function pool(name: string, spec: Record<string, unknown> = {}): JobWorkerPool {
  const p = newJobWorkerPool(
    {
      name,
      namespace: "ns",
      uid: `uid-${name}`,
      generation: 1,
      creationTimestamp: "2026-01-01T00:00:00Z",
    },
    {
      image: "example/worker:1",
      kafka: { bootstrapServers: ["k:9092"], topic: { name: `${name}-jobs` } },
      topicProvisioning: {
        mode: "strimzi",
        strimzi: { clusterName: "c", deletionPolicy: "Delete" },
      },
      ...spec,
    } as never,
  );
  return p;
}

function setup(
  options: { synthesize?: Synthesize; pools?: JobWorkerPool[]; finalizeMaxAttempts?: number } = {},
) {
  const client = new MemoryClient();
  const pools = options.pools ?? [pool("p")];
  for (const p of pools) {
    client.objects.set(
      `jobworkerpools/ns/${p.metadata.name}`,
      structuredClone(p) as unknown as KubeObject,
    );
  }
  const clock = new FakeClock();
  const reconciler = new PoolReconciler({
    client,
    synthesize: options.synthesize ?? synthesizePool,
    events: new EventRecorder({ client, component: "test", instance: "t", clock }),
    knownPools: () => pools,
    clock,
    ...(options.finalizeMaxAttempts ? { finalizeMaxAttempts: options.finalizeMaxAttempts } : {}),
  });
  const status = (name = "p") =>
    client.objects.get(`jobworkerpools/ns/${name}`)?.["status"] as JobWorkerPool["status"];
  const cond = (type: string, name = "p") => status(name)?.conditions?.find((c) => c.type === type);
  return { client, reconciler, status, cond };
}

const signal = new AbortController().signal;

Deno.test("PoolReconciler: finalizer, objects, status with observedGeneration", async () => {
  const { client, reconciler, status, cond } = setup();
  assert.deepEqual(await reconciler.reconcile("ns/p", signal), {});
  assert.ok(
    client.objects.get("jobworkerpools/ns/p")?.metadata.finalizers?.includes(TOPIC_FINALIZER),
  );
  assert.deepEqual(
    client.applied.map((a) => `${a.plural}${a.subresource ? "/status" : ""}`).sort(),
    ["deployments", "jobworkerpools/status", "kafkatopics", "scaledobjects"],
  );
  assert.equal(client.applied.at(-1)?.subresource, "status", "status is written last");
  assert.equal(status()?.observedGeneration, 1);
  assert.equal(cond("Ready")?.status, "True");
  // A second pass changes nothing, so the status is not written again.
  client.applied = [];
  await reconciler.reconcile("ns/p", signal);
  assert.equal(client.applied.some((a) => a.subresource === "status"), false);
});

Deno.test("PoolReconciler: missing KEDA and Strimzi → CRDNotInstalled, fixed replicas", async () => {
  const { client, reconciler, cond } = setup();
  client.notServed.add("scaledobjects").add("triggerauthentications").add("kafkatopics");
  await reconciler.reconcile("ns/p", signal);
  assert.equal(cond("ScalerReady")?.reason, "CRDNotInstalled");
  assert.equal(cond("TopicReady")?.reason, "CRDNotInstalled");
  assert.equal(cond("Ready")?.status, "False", "the topic is not provisioned, nothing scales");
  assert.equal(cond("Ready")?.reason, "TopicNotReady");
  assert.match(cond("Ready")?.message ?? "", /also ScalerReady is False \(CRDNotInstalled\)/);
  const deployment = client.objects.get("deployments/ns/p-worker");
  assert.equal((deployment?.["spec"] as { replicas?: number }).replicas, 1);
});

Deno.test("PoolReconciler: an object the API server rejects → Ready=False, requeue later, no throw", async () => {
  const { client, reconciler, cond } = setup();
  client.rejected.set("scaledobjects", "spec.triggers[0].metadata.lagThreshold: Invalid value");
  const result = await reconciler.reconcile("ns/p", signal);
  assert.ok((result.requeueAfterMs ?? 0) > 0);
  const ready = cond("Ready");
  assert.equal(ready?.status, "False");
  assert.equal(ready?.reason, "GeneratedObjectRejected");
  assert.match(ready?.message ?? "", /lagThreshold/);
});

Deno.test("PoolReconciler: a spec synthesis refuses → Ready=False InvalidSpec", async () => {
  const { reconciler, cond } = setup({
    synthesize: () => {
      throw new RangeError("pool.max 50 needs more memory than resources.limits.memory allows");
    },
  });
  await reconciler.reconcile("ns/p", signal);
  assert.equal(cond("Ready")?.reason, "InvalidSpec");
  assert.match(cond("Ready")?.message ?? "", /pool\.max 50/);
});

Deno.test("PoolReconciler: a topic owned by another pool → TopicOwnedByAnotherPool", async () => {
  const { client, reconciler, cond } = setup({
    pools: [pool("p", { kafka: { bootstrapServers: ["k:9092"], topic: { name: "shared" } } })],
  });
  client.objects.set("jobworkerpools/ns/q", {
    apiVersion: "jobpool.dev/v1alpha1",
    kind: "JobWorkerPool",
    metadata: { name: "q", namespace: "ns", uid: "other" },
  });
  client.objects.set("kafkatopics/ns/shared", {
    apiVersion: "kafka.strimzi.io/v1",
    kind: "KafkaTopic",
    metadata: {
      name: "shared",
      namespace: "ns",
      labels: {
        "jobpool.dev/pool-uid": "other",
        "jobpool.dev/pool-namespace": "ns",
        "jobpool.dev/pool-name": "q",
      },
    },
  });
  await reconciler.reconcile("ns/p", signal);
  assert.equal(cond("Ready")?.reason, "TopicOwnedByAnotherPool");
  assert.match(cond("Ready")?.message ?? "", /ns\/q/);
  const topic = client.objects.get("kafkatopics/ns/shared");
  assert.equal(topic?.metadata.labels?.["jobpool.dev/pool-uid"], "other", "left alone");
});

Deno.test("PoolReconciler: a topic retained from a deleted pool is adopted", async () => {
  const { client, reconciler, cond } = setup({
    pools: [pool("p", { kafka: { bootstrapServers: ["k:9092"], topic: { name: "kept" } } })],
  });
  client.objects.set("kafkatopics/ns/kept", {
    apiVersion: "kafka.strimzi.io/v1",
    kind: "KafkaTopic",
    metadata: {
      name: "kept",
      namespace: "ns",
      labels: {
        "jobpool.dev/pool-uid": "gone",
        "jobpool.dev/pool-namespace": "ns",
        "jobpool.dev/pool-name": "old",
      },
    },
    status: HEALTHY_STATUS["kafkatopics"],
  });
  await reconciler.reconcile("ns/p", signal);
  assert.equal(cond("Ready")?.status, "True");
  assert.equal(
    client.objects.get("kafkatopics/ns/kept")?.metadata.labels?.["jobpool.dev/pool-uid"],
    "uid-p",
  );
});

Deno.test("PoolReconciler: deletion deletes the topic (Delete policy) and drops the finalizer", async () => {
  const { client, reconciler } = setup();
  await reconciler.reconcile("ns/p", signal);
  assert.ok(client.objects.has("kafkatopics/ns/p-jobs"));
  const stored = client.objects.get("jobworkerpools/ns/p")!;
  stored.metadata.deletionTimestamp = "2026-01-02T00:00:00Z";
  await reconciler.reconcile("ns/p", signal);
  assert.equal(client.objects.has("kafkatopics/ns/p-jobs"), false);
  assert.deepEqual(client.objects.get("jobworkerpools/ns/p")?.metadata.finalizers, []);
});

Deno.test("PoolReconciler: a transient failure throws (for backoff) and records an Event", async () => {
  const { client, reconciler } = setup();
  const created: KubeObject[] = [];
  client.create = (_type, object) => {
    created.push(object);
    return Promise.resolve(object);
  };
  client.apply = () =>
    Promise.reject(new KubeApiError("apply", { code: 503, message: "etcd busy" }));
  await assert.rejects(reconciler.reconcile("ns/p", signal), /etcd busy/);
  assert.equal(created[0]?.["reason"], "ReconcileFailed");
  assert.match(String(created[0]?.["message"]), /etcd busy/);
});

Deno.test("PoolReconciler: a pool that is gone is a no-op", async () => {
  const { reconciler } = setup();
  assert.deepEqual(await reconciler.reconcile("ns/missing", signal), {});
});

Deno.test("POOL_RESOURCE points at jobworkerpools.jobpool.dev/v1alpha1", () => {
  assert.equal(POOL_RESOURCE.group, "jobpool.dev");
  assert.equal(POOL_RESOURCE.plural, "jobworkerpools");
});

Deno.test("PoolReconciler: a failing branch does not end the reconcile while the other still applies", async () => {
  const { client, reconciler } = setup();
  const apply = client.apply.bind(client);
  let inFlight = 0;
  client.apply = async (type, object, options) => {
    if (type.plural === "kafkatopics") {
      throw new KubeApiError("apply", { code: 503, message: "etcd busy" });
    }
    inFlight++;
    try {
      for (let i = 0; i < 50; i++) await Promise.resolve();
      return await apply(type, object, options);
    } finally {
      inFlight--;
    }
  };
  await assert.rejects(reconciler.reconcile("ns/p", signal), /etcd busy/);
  assert.equal(inFlight, 0, "no apply of this pool runs after its reconcile ended");
  assert.ok(client.objects.has("deployments/ns/p-worker"));
});

Deno.test("PoolReconciler: Ready waits for KEDA, Strimzi and the Deployment to report", async () => {
  const { client, reconciler, cond } = setup();
  client.healthy = false;
  await reconciler.reconcile("ns/p", signal);
  assert.equal(cond("ScalerReady")?.status, "Unknown");
  assert.equal(cond("ScalerReady")?.reason, "WaitingForKeda");
  assert.equal(cond("Ready")?.status, "Unknown");
  assert.equal(cond("Ready")?.reason, "TopicNotReady");
  for (const [key, status] of Object.entries(HEALTHY_STATUS)) {
    const object = [...client.objects.entries()].find(([k]) => k.startsWith(`${key}/`))?.[1];
    object!["status"] = structuredClone(status);
  }
  await reconciler.reconcile("ns/p", signal);
  assert.equal(cond("ScalerReady")?.status, "True");
  assert.equal(cond("ScalerReady")?.reason, "ScalerReady");
  assert.equal(cond("Ready")?.status, "True");
  client.objects.get("scaledobjects/ns/p-scaler")!["status"] = {
    conditions: [{ type: "Ready", status: "False", reason: "TriggerError", message: "no topic" }],
  };
  await reconciler.reconcile("ns/p", signal);
  assert.equal(cond("Ready")?.status, "False");
  assert.equal(cond("Ready")?.reason, "ScalerNotReady");
  assert.match(cond("Ready")?.message ?? "", /ScalerReady is False.*\(TriggerError\): no topic/);
});

Deno.test("PoolReconciler: scaling.mode none → no KEDA objects, ScalerReady NotManaged", async () => {
  const p = pool("p", { replicas: { min: 2, max: 2 }, scaling: { mode: "none" } });
  const { client, reconciler, cond } = setup({ pools: [p] });
  client.objects.set("scaledobjects/ns/p-scaler", {
    apiVersion: "keda.sh/v1alpha1",
    kind: "ScaledObject",
    metadata: {
      name: "p-scaler",
      namespace: "ns",
      ownerReferences: [{ apiVersion: "jobpool.dev/v1alpha1", kind: "x", name: "p", uid: "uid-p" }],
    },
  });
  await reconciler.reconcile("ns/p", signal);
  assert.equal(client.objects.has("scaledobjects/ns/p-scaler"), false, "the old scaler is gone");
  assert.equal(cond("ScalerReady")?.status, "True");
  assert.equal(cond("ScalerReady")?.reason, "NotManaged");
  assert.equal(cond("Ready")?.status, "True");
  const deployment = client.objects.get("deployments/ns/p-worker");
  assert.equal((deployment?.["spec"] as { replicas?: number }).replicas, 2);
});

Deno.test("PoolReconciler: the pool that loses a group conflict has its workers stopped", async () => {
  const shared = { bootstrapServers: ["k:9092"], topic: { name: "jobs" }, consumerGroup: "g" };
  const incumbent = pool("p", { kafka: shared, topicProvisioning: { mode: "none" } });
  incumbent.metadata.creationTimestamp = "2026-01-02T00:00:00Z";
  incumbent.status = { observedGeneration: 1, consumerGroup: "g" };
  const older = pool("q", { kafka: shared, topicProvisioning: { mode: "none" } });
  const { client, reconciler, cond } = setup({ pools: [incumbent, older] });
  const ownedBy = (uid: string) => [{
    apiVersion: "jobpool.dev/v1alpha1",
    kind: "JobWorkerPool",
    name: "q",
    uid,
  }];
  client.objects.set("deployments/ns/q-worker", {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "q-worker", namespace: "ns", ownerReferences: ownedBy("uid-q") },
  });
  client.objects.set("scaledobjects/ns/q-scaler", {
    apiVersion: "keda.sh/v1alpha1",
    kind: "ScaledObject",
    metadata: { name: "q-scaler", namespace: "ns", ownerReferences: ownedBy("uid-q") },
  });
  await reconciler.reconcile("ns/q", signal);
  assert.equal(cond("Ready", "q")?.reason, "ConsumerGroupConflict");
  assert.match(cond("Ready", "q")?.message ?? "", /ns\/p/);
  assert.equal(client.objects.has("deployments/ns/q-worker"), false, "its workers are gone");
  assert.equal(client.objects.has("scaledobjects/ns/q-scaler"), false, "KEDA no longer scales it");
  await reconciler.reconcile("ns/p", signal);
  assert.equal(cond("Ready", "p")?.status, "True", "the incumbent keeps running");
  assert.ok(client.objects.has("deployments/ns/p-worker"));
});

/** Captures the Events a client records (MemoryClient does not store them). */
function captureEvents(client: MemoryClient): KubeObject[] {
  const created: KubeObject[] = [];
  client.create = (_type, object) => {
    created.push(object);
    return Promise.resolve(object);
  };
  return created;
}

function markDeleted(client: MemoryClient, name = "p"): void {
  client.objects.get(`jobworkerpools/ns/${name}`)!.metadata.deletionTimestamp =
    "2026-01-02T00:00:00Z";
}

Deno.test("PoolReconciler: the finalizer is held only with Strimzi and deletionPolicy Delete", async () => {
  const retain = pool("r", {
    topicProvisioning: { mode: "strimzi", strimzi: { clusterName: "c", deletionPolicy: "Retain" } },
  });
  const none = pool("n", { topicProvisioning: { mode: "none" } });
  const { client, reconciler } = setup({ pools: [retain, none] });
  client.objects.get("jobworkerpools/ns/r")!.metadata.finalizers = [TOPIC_FINALIZER, "other/keep"];
  await reconciler.reconcile("ns/r", signal);
  await reconciler.reconcile("ns/n", signal);
  assert.deepEqual(client.objects.get("jobworkerpools/ns/r")?.metadata.finalizers, ["other/keep"]);
  assert.equal(
    client.objects.get("jobworkerpools/ns/n")?.metadata.finalizers?.includes(TOPIC_FINALIZER),
    undefined,
  );
});

Deno.test("PoolReconciler: deletion keeps a topic another pool uses on the same cluster", async () => {
  const kafka = { bootstrapServers: ["k:9092"], topic: { name: "shared" } };
  const owner = pool("p", { kafka });
  const user = pool("q", {
    kafka: { ...kafka, consumerGroup: "q" },
    topicProvisioning: { mode: "none" },
  });
  const { client, reconciler } = setup({ pools: [owner, user] });
  await reconciler.reconcile("ns/p", signal);
  assert.ok(client.objects.has("kafkatopics/ns/shared"));
  const events = captureEvents(client);
  markDeleted(client);
  await reconciler.reconcile("ns/p", signal);
  assert.ok(client.objects.has("kafkatopics/ns/shared"), "the topic is kept");
  assert.equal(events[0]?.["reason"], "TopicKept");
  assert.match(String(events[0]?.["message"]), /ns\/q/);
  assert.deepEqual(client.objects.get("jobworkerpools/ns/p")?.metadata.finalizers, []);
});

Deno.test("PoolReconciler: topic cleanup that keeps failing gives up and lets the pool go", async () => {
  const { client, reconciler } = setup({ finalizeMaxAttempts: 3 });
  await reconciler.reconcile("ns/p", signal);
  const events = captureEvents(client);
  client.list = () => Promise.reject(new KubeApiError("list", { code: 503, message: "etcd busy" }));
  markDeleted(client);
  await assert.rejects(reconciler.reconcile("ns/p", signal), /etcd busy/);
  await assert.rejects(reconciler.reconcile("ns/p", signal), /etcd busy/);
  assert.deepEqual(
    client.objects.get("jobworkerpools/ns/p")?.metadata.finalizers,
    [TOPIC_FINALIZER],
    "retried with backoff meanwhile",
  );
  await reconciler.reconcile("ns/p", signal);
  assert.deepEqual(client.objects.get("jobworkerpools/ns/p")?.metadata.finalizers, []);
  const gaveUp = events.find((e) => e["reason"] === "TopicCleanupAbandoned");
  assert.equal(gaveUp?.["type"], "Warning");
  assert.match(String(gaveUp?.["message"]), /3 attempt/);
});

Deno.test("PoolReconciler: topic cleanup the operator may not do gives up at once", async () => {
  const { client, reconciler } = setup();
  await reconciler.reconcile("ns/p", signal);
  const events = captureEvents(client);
  client.list = () =>
    Promise.reject(new KubeApiError("list", { code: 403, reason: "Forbidden", message: "no" }));
  markDeleted(client);
  await reconciler.reconcile("ns/p", signal);
  assert.deepEqual(client.objects.get("jobworkerpools/ns/p")?.metadata.finalizers, []);
  assert.ok(events.some((e) => e["reason"] === "TopicCleanupAbandoned"));
});

Deno.test("PoolReconciler: without KEDA a pool with replicas.min 0 still runs one worker", async () => {
  const { client, reconciler } = setup({ pools: [pool("p", { replicas: { min: 0, max: 3 } })] });
  client.notServed.add("scaledobjects").add("triggerauthentications");
  await reconciler.reconcile("ns/p", signal);
  const deployment = client.objects.get("deployments/ns/p-worker");
  assert.equal((deployment?.["spec"] as { replicas?: number }).replicas, 1);
});

Deno.test("PoolReconciler: replicas are set when the Deployment is created, never applied", async () => {
  const { client, reconciler } = setup({ pools: [pool("p", { replicas: { min: 0, max: 3 } })] });
  await reconciler.reconcile("ns/p", signal);
  const created = client.created.find((c) => c.plural === "deployments");
  assert.equal((created?.object["spec"] as { replicas?: number }).replicas, 0);
  const applied = client.applied.filter((a) => a.plural === "deployments");
  assert.ok(applied.length > 0);
  for (const { object } of applied) {
    assert.equal((object["spec"] as { replicas?: number }).replicas, undefined);
  }
  // The HPA scales; the next reconcile leaves its count alone.
  const stored = client.objects.get("deployments/ns/p-worker")!;
  (stored["spec"] as { replicas?: number }).replicas = 3;
  client.created = [];
  await reconciler.reconcile("ns/p", signal);
  assert.equal(client.created.filter((c) => c.plural === "deployments").length, 0);
  const after = client.objects.get("deployments/ns/p-worker")!;
  assert.equal((after["spec"] as { replicas?: number }).replicas, 3);
});

Deno.test("PoolReconciler: a topic another pool declares alike is shared, not taken", async () => {
  const { client, reconciler, cond } = setup({
    pools: [pool("p", { kafka: { bootstrapServers: ["k:9092"], topic: { name: "shared" } } })],
  });
  client.objects.set("jobworkerpools/ns/q", {
    apiVersion: "jobpool.dev/v1alpha1",
    kind: "JobWorkerPool",
    metadata: { name: "q", namespace: "ns", uid: "other" },
  });
  client.objects.set("kafkatopics/ns/shared", {
    apiVersion: "kafka.strimzi.io/v1",
    kind: "KafkaTopic",
    metadata: {
      name: "shared",
      namespace: "ns",
      labels: {
        "strimzi.io/cluster": "c",
        "jobpool.dev/pool-uid": "other",
        "jobpool.dev/pool-namespace": "ns",
        "jobpool.dev/pool-name": "q",
      },
    },
    spec: { topicName: "shared", partitions: 12, replicas: 3 },
    status: HEALTHY_STATUS["kafkatopics"],
  });
  await reconciler.reconcile("ns/p", signal);
  assert.equal(cond("TopicReady")?.status, "True");
  assert.match(cond("TopicReady")?.message ?? "", /shared with JobWorkerPool ns\/q/);
  assert.equal(cond("Ready")?.status, "True");
  assert.equal(client.applied.some((a) => a.plural === "kafkatopics"), false, "q's object");
});

Deno.test("PoolReconciler: a renamed topic's old KafkaTopic gets the deletion policy", async () => {
  for (const policy of ["Delete", "Retain"] as const) {
    const p = pool("p", {
      topicProvisioning: { mode: "strimzi", strimzi: { clusterName: "c", deletionPolicy: policy } },
    });
    const { client, reconciler } = setup({ pools: [p] });
    await reconciler.reconcile("ns/p", signal);
    assert.ok(client.objects.has("kafkatopics/ns/p-jobs"));
    const stored = client.objects.get("jobworkerpools/ns/p")!;
    (stored["spec"] as JobWorkerPool["spec"]).kafka.topic.name = "renamed";
    stored.metadata.generation = 2;
    client.created = [];
    await reconciler.reconcile("ns/p", signal);
    assert.ok(client.objects.has("kafkatopics/ns/renamed"));
    const old = client.objects.get("kafkatopics/ns/p-jobs");
    const events = client.created.filter((c) => c.plural === "events").map((c) => c.object);
    if (policy === "Delete") {
      assert.equal(old, undefined, "Delete: the old KafkaTopic is gone");
      assert.equal(events[0]?.["reason"], "TopicDeleted");
    } else {
      assert.ok(old, "Retain: the old KafkaTopic is kept");
      assert.equal(old.metadata.labels?.["jobpool.dev/pool-uid"], undefined, "and released");
      assert.equal(events[0]?.["reason"], "TopicLeftBehind");
      assert.match(String(events[0]?.["message"]), /now uses KafkaTopic ns\/renamed/);
    }
  }
});
