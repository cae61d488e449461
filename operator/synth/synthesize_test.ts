import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type JobWorkerPool, type JobWorkerPoolSpecInput, newJobWorkerPool } from "../api/mod.ts";
import { type Manifest, poolObjectList, synthesizePool } from "./mod.ts";

const SNAPSHOT_DIR = join(dirname(fileURLToPath(import.meta.url)), "__snapshots__");

/**
 * Compares `value`, as 2-space JSON, with `__snapshots__/<name>.json` exactly;
 * with `UPDATE_SNAPSHOTS=1` (and --allow-write) writes the file instead.
 */
async function assertSnapshot(name: string, value: unknown): Promise<void> {
  const path = join(SNAPSHOT_DIR, `${name}.json`);
  const actual = `${JSON.stringify(value, null, 2)}\n`;
  if (Deno.env.get("UPDATE_SNAPSHOTS") === "1") {
    await Deno.mkdir(SNAPSHOT_DIR, { recursive: true });
    await Deno.writeTextFile(path, actual);
    return;
  }
  let expected: string;
  try {
    expected = await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Error(
      `Snapshot ${path} is missing: create it with ` +
        "'UPDATE_SNAPSHOTS=1 deno test --allow-env --allow-read --allow-write operator/synth/'",
    );
  }
  assert.equal(
    actual,
    expected,
    `Output differs from snapshot ${name}.json: if the change is intended, update it with ` +
      "'UPDATE_SNAPSHOTS=1 deno test --allow-env --allow-read --allow-write operator/synth/'",
  );
}

function pool(name: string, spec: JobWorkerPoolSpecInput, namespace = "shop"): JobWorkerPool {
  return newJobWorkerPool({ name, namespace, uid: `uid-${name}` }, spec);
}

const minimal = pool("minimal", {
  image: "ghcr.io/jobpool/worker:0.1.0",
  kafka: { bootstrapServers: ["kafka.kafka.svc:9092"] },
});

const saslTls = pool("emails", {
  image: "ghcr.io/jobpool/worker:0.1.0",
  imagePullPolicy: "Always",
  jobTypes: ["job.email.*"],
  kafka: {
    bootstrapServers: ["b-1.msk.example:9096", "b-2.msk.example:9096"],
    topic: { name: "job-events", partitions: 24, config: { "retention.ms": 604800000 } },
    consumerGroup: "emails-workers",
    tls: { enabled: true, caSecretRef: { name: "kafka-ca" } },
    sasl: { mechanism: "scram-sha-512", secretRef: { name: "kafka-credentials" } },
  },
  pool: { min: 4, max: 32 },
  replicas: { min: 0, max: 24 },
  scaling: { lagThreshold: 200, activationLagThreshold: 5, pollingInterval: 15 },
  env: [
    { name: "DATABASE_URL", valueFrom: { secretKeyRef: { name: "jobpool-db", key: "url" } } },
    { name: "LOG_LEVEL", value: "debug" },
  ],
  envFrom: [{ secretRef: { name: "smtp" }, prefix: "SMTP_" }],
  resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: 2, memory: "1Gi" } },
});

const strimziRetain = pool("positions", {
  image: "ghcr.io/jobpool/worker:0.1.0",
  jobTypes: ["job.position.recalculate"],
  kafka: {
    bootstrapServers: ["main-kafka-bootstrap.kafka.svc:9092"],
    topic: { name: "Position_Jobs", partitions: 6, replicationFactor: 1 },
  },
  replicas: { min: 1, max: 6 },
  topicProvisioning: {
    mode: "strimzi",
    strimzi: {
      clusterName: "main",
      namespace: "kafka",
      apiVersion: "v1beta2",
      deletionPolicy: "Retain",
    },
  },
}, "ranking");

Deno.test("snapshot: minimal pool", async () => {
  await assertSnapshot("minimal", synthesizePool(minimal));
});

Deno.test("snapshot: SASL and TLS pool", async () => {
  await assertSnapshot("sasl_tls", synthesizePool(saslTls));
});

Deno.test("snapshot: Strimzi v1beta2 topic with Retain in another namespace", async () => {
  await assertSnapshot("strimzi_v1beta2_retain", synthesizePool(strimziRetain));
});

function container(deployment: Manifest) {
  const spec = deployment.spec as {
    replicas?: number;
    template: {
      spec: {
        containers: {
          env: { name: string; value?: string; valueFrom?: unknown }[];
          securityContext: Record<string, unknown>;
          volumeMounts: { mountPath: string }[];
        }[];
      };
    };
  };
  const first = spec.template.spec.containers[0];
  assert.ok(first);
  return first;
}

function envValue(deployment: Manifest, name: string): string | undefined {
  return container(deployment).env.find((variable) => variable.name === name)?.value;
}

Deno.test("the Deployment leaves replicas to KEDA and is hardened", () => {
  const { deployment } = synthesizePool(minimal);
  assert.equal((deployment.spec as { replicas?: number }).replicas, undefined);
  const worker = container(deployment);
  assert.deepEqual(worker.securityContext, {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    seccompProfile: { type: "RuntimeDefault" },
  });
  assert.ok(worker.volumeMounts.some((mount) => mount.mountPath === "/tmp"));
});

Deno.test("the worker gets its Kafka settings, Secrets by reference", () => {
  const { deployment } = synthesizePool(saslTls);
  assert.equal(envValue(deployment, "KAFKA_BROKERS"), "b-1.msk.example:9096,b-2.msk.example:9096");
  assert.equal(envValue(deployment, "KAFKA_JOB_CONSUMER_GROUP"), "emails-workers");
  assert.equal(envValue(deployment, "KAFKA_JOB_TYPES"), "job.email.*");
  assert.equal(envValue(deployment, "KAFKA_SASL_MECHANISM"), "scram-sha-512");
  assert.equal(envValue(deployment, "KAFKA_TLS"), "true");
  const password = container(deployment).env.find((v) => v.name === "KAFKA_SASL_PASSWORD");
  assert.deepEqual(password, {
    name: "KAFKA_SASL_PASSWORD",
    valueFrom: { secretKeyRef: { key: "password", name: "kafka-credentials" } },
  });
  assert.ok(!JSON.stringify(deployment).includes("cdk8s.io/metadata.addr"));
});

Deno.test("the default consumer group is the pool's own, in worker and scaler alike", () => {
  const { deployment, scaledObject } = synthesizePool(minimal);
  assert.equal(envValue(deployment, "KAFKA_JOB_CONSUMER_GROUP"), "jobpool.shop.minimal");
  const triggers = (scaledObject?.spec as { triggers: { metadata: Record<string, string> }[] })
    .triggers;
  assert.equal(triggers[0]?.metadata.consumerGroup, "jobpool.shop.minimal");
  assert.equal(triggers[0]?.metadata.offsetResetPolicy, envValue(deployment, "KAFKA_OFFSET_RESET"));
});

Deno.test("a TriggerAuthentication exists only when KEDA needs credentials", () => {
  assert.equal(synthesizePool(minimal).triggerAuthentication, undefined);
  const objects = synthesizePool(saslTls);
  assert.equal(objects.triggerAuthentication?.metadata.name, "emails-kafka-auth");
});

Deno.test("same-namespace objects are owned by the pool; the topic never is", () => {
  const objects = synthesizePool(strimziRetain);
  for (const object of [objects.deployment, objects.scaledObject]) {
    assert.deepEqual(object?.metadata.ownerReferences, [{
      apiVersion: "jobpool.dev/v1alpha1",
      blockOwnerDeletion: true,
      controller: true,
      kind: "JobWorkerPool",
      name: "positions",
      uid: "uid-positions",
    }]);
  }
  assert.equal(objects.kafkaTopic?.metadata.ownerReferences, undefined);
  assert.equal(objects.kafkaTopic?.metadata.namespace, "kafka");
  assert.equal(objects.kafkaTopic?.metadata.labels?.["jobpool.dev/pool-uid"], "uid-positions");
  const withoutUid = synthesizePool({ ...minimal, metadata: { name: "x", namespace: "shop" } });
  assert.equal(withoutUid.deployment.metadata.ownerReferences, undefined);
});

Deno.test("synthesis is deterministic and does not change its input", () => {
  const before = structuredClone(saslTls);
  assert.deepEqual(synthesizePool(saslTls), synthesizePool(saslTls));
  assert.deepEqual(saslTls, before);
});

Deno.test("poolObjectList puts the topic first and the scaler after its authentication", () => {
  const kinds = poolObjectList(synthesizePool(saslTls)).map((object) => object.kind);
  assert.deepEqual(kinds, ["Deployment", "TriggerAuthentication", "ScaledObject"]);
  const topicFirst = poolObjectList(synthesizePool(strimziRetain)).map((object) => object.kind);
  assert.deepEqual(topicFirst, ["KafkaTopic", "Deployment", "ScaledObject"]);
});

Deno.test("the grace period covers the worker's shutdown timeout", () => {
  const grace = (pool: JobWorkerPool) =>
    (synthesizePool(pool).deployment.spec as { template: { spec: Record<string, unknown> } })
      .template.spec["terminationGracePeriodSeconds"];
  assert.equal(grace(minimal), 45);
  const slow = pool("slow", {
    image: "w",
    kafka: { bootstrapServers: ["k:1"] },
    env: [{ name: "SHUTDOWN_TIMEOUT_MS", value: "120000" }],
  });
  assert.equal(grace(slow), 135);
});

Deno.test("worker Pods carry the labels the chart's PodMonitor selects on", () => {
  const { deployment } = synthesizePool(minimal);
  const labels = (deployment.spec as { template: { metadata: { labels: Record<string, string> } } })
    .template.metadata.labels;
  assert.equal(labels["app.kubernetes.io/name"], "jobpool-worker");
  assert.equal(labels["app.kubernetes.io/managed-by"], "jobpool-operator");
  const selector = (deployment.spec as { selector: { matchLabels: Record<string, string> } })
    .selector.matchLabels;
  assert.equal(selector["app.kubernetes.io/managed-by"], undefined, "the selector is unchanged");
});

Deno.test("scaling.mode none: no KEDA objects, a fixed replica count", () => {
  const fixed = synthesizePool({
    ...saslTls,
    spec: { ...saslTls.spec, scaling: { ...saslTls.spec.scaling, mode: "none" } },
  });
  assert.equal(fixed.scaledObject, undefined);
  assert.equal(fixed.triggerAuthentication, undefined);
  assert.equal((fixed.deployment.spec as { replicas?: number }).replicas, undefined);
});

Deno.test("scaling.fallback becomes the ScaledObject's fallback", () => {
  const withFallback = synthesizePool({
    ...saslTls,
    spec: {
      ...saslTls.spec,
      scaling: {
        ...saslTls.spec.scaling,
        fallback: { replicas: 2, failureThreshold: 3, behavior: "static" },
      },
    },
  });
  assert.deepEqual((withFallback.scaledObject?.spec as { fallback?: unknown }).fallback, {
    replicas: 2,
    failureThreshold: 3,
    behavior: "static",
  });
  assert.equal(
    (synthesizePool(saslTls).scaledObject?.spec as { fallback?: unknown }).fallback,
    undefined,
  );
});
