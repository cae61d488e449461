/**
 * The JobWorkerPool CRD and everything synthesis produces, checked by a real
 * kube-apiserver against the real upstream schemas (KEDA 2.20.2, Strimzi
 * 1.2.0 `v1` and 0.49.1 `v1beta2`): the CRD installs, the server defaults a
 * pool exactly like `applyDefaults`, every synthesized object, example and
 * install object passes `kubectl apply --dry-run=server` (with no Pod
 * Security warnings under `restricted`), and the CEL rules reject bad pools.
 */

import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  API_VERSION,
  applyDefaults,
  CRD_NAME,
  type JobWorkerPool,
  jobWorkerPoolCrd,
  type JobWorkerPoolSpecInput,
  KIND,
} from "../../operator/api/mod.ts";
import { examples } from "../../operator/synth/examples.ts";
import { installObjectList, synthesizeInstall } from "../../operator/synth/install.ts";
import { type Manifest, poolObjectList, synthesizePool } from "../../operator/synth/mod.ts";
import { CRD_FIXTURES, startKube } from "../env/kube.ts";
import { kubectl, kubectlChecked, kubectlOk, type KubectlResult } from "../env/kubectl.ts";
import { kubeName } from "./operator_support.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

async function installCrd(): Promise<void> {
  await kubectlOk(
    ["apply", "--server-side", "--force-conflicts", "--field-manager=synth-test", "-f", "-"],
    { stdin: JSON.stringify(jobWorkerPoolCrd()) },
  );
  await kubectlOk(["wait", "--for=condition=Established", `crd/${CRD_NAME}`, "--timeout=60s"]);
}

/** A namespace where Pod Security `restricted` warns about every violation. */
async function restrictedNamespace(prefix: string): Promise<string> {
  const name = kubeName(prefix);
  await kubectlOk(["create", "namespace", name]);
  await kubectlOk([
    "label",
    "namespace",
    name,
    "pod-security.kubernetes.io/enforce=restricted",
    "pod-security.kubernetes.io/warn=restricted",
  ]);
  return name;
}

/** Server-side dry-run of `object`; fails on rejection and on Pod Security warnings. */
async function dryRun(object: unknown, namespace?: string): Promise<void> {
  const args = ["apply", "--dry-run=server", "--server-side", "--field-manager=synth-test"];
  if (namespace) args.push("-n", namespace);
  const result = await kubectlChecked([...args, "-f", "-"], { stdin: JSON.stringify(object) });
  assert.doesNotMatch(result.stderr, /PodSecurity/, result.stderr);
}

function manifest(name: string, spec: JobWorkerPoolSpecInput, namespace?: string) {
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec };
}

async function createPool(
  namespace: string,
  name: string,
  spec: JobWorkerPoolSpecInput,
): Promise<JobWorkerPool> {
  await kubectlOk(["create", "-f", "-"], {
    stdin: JSON.stringify(manifest(name, spec, namespace)),
  });
  const got = await kubectlOk(["get", "-n", namespace, "jobworkerpool", name, "-o", "json"]);
  return JSON.parse(got) as JobWorkerPool;
}

function rejection(result: KubectlResult): string {
  assert.ok(!result.success, `expected the API server to reject the pool: ${result.stdout}`);
  return result.stderr;
}

const IMAGE = "ghcr.io/jobpool/worker:0.1.0";

/** Every scheduling, security and scaling option a production pool may set. */
const PRODUCTION_SPEC: JobWorkerPoolSpecInput = {
  image: IMAGE,
  kafka: {
    bootstrapServers: ["b-1.example:9094", "b-2.example:9094"],
    tls: {
      enabled: true,
      caSecretRef: { name: "kafka-ca" },
      clientCertSecretRef: { name: "kafka-client" },
    },
  },
  replicas: { min: 1, max: 6 },
  scaling: {
    limitToPartitionsWithLag: true,
    excludePersistentLag: true,
    scaleToZeroOnInvalidOffset: true,
    behavior: {
      scaleDown: {
        stabilizationWindowSeconds: 600,
        policies: [{ type: "Pods", value: 1, periodSeconds: 60 }],
      },
      scaleUp: {
        selectPolicy: "Max",
        policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
      },
    },
    fallback: { replicas: 2 },
  },
  imagePullSecrets: [{ name: "regcred" }],
  serviceAccountName: "jobpool-worker",
  priorityClassName: "jobs",
  nodeSelector: { "kubernetes.io/arch": "arm64" },
  tolerations: [{ key: "dedicated", operator: "Equal", value: "jobs", effect: "NoSchedule" }],
  affinity: {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [{
        weight: 100,
        podAffinityTerm: {
          topologyKey: "kubernetes.io/hostname",
          labelSelector: { matchLabels: { "app.kubernetes.io/name": "jobpool-worker" } },
        },
      }],
    },
  },
  topologySpreadConstraints: [
    { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway" },
  ],
  podLabels: { team: "growth" },
  podAnnotations: { "example.com/owner": "growth" },
  podSecurityContext: { runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001 },
  tmpSizeLimit: "32Mi",
};

Deno.test("the API server defaults a pool exactly like applyDefaults", async () => {
  await installCrd();
  const namespace = await restrictedNamespace("synth-defaults");
  const specs: JobWorkerPoolSpecInput[] = [
    { image: IMAGE, kafka: { bootstrapServers: ["kafka:9092"] } },
    PRODUCTION_SPEC,
    {
      image: IMAGE,
      kafka: {
        bootstrapServers: ["kafka:9093"],
        tls: { enabled: true, caSecretRef: { name: "ca" } },
        sasl: { mechanism: "plain", secretRef: { name: "creds" } },
      },
      topicProvisioning: { mode: "strimzi", strimzi: { clusterName: "main" } },
    },
  ];
  for (const [index, spec] of specs.entries()) {
    const pool = await createPool(namespace, `pool-${index}`, spec);
    assert.deepEqual(pool.spec, applyDefaults(spec));
  }
});

Deno.test("every synthesized object passes the real KEDA, Strimzi v1 and apps/v1 schemas", async () => {
  await installCrd();
  const namespace = await restrictedNamespace("synth-pool");
  const kafkaNamespace = kubeName("synth-kafka");
  await kubectlOk(["create", "namespace", kafkaNamespace]);
  const specs: Record<string, JobWorkerPoolSpecInput> = {
    minimal: { image: IMAGE, kafka: { bootstrapServers: ["kafka:9092"] } },
    secure: {
      image: IMAGE,
      jobTypes: ["job.email.*"],
      kafka: {
        bootstrapServers: ["b-1.msk:9096", "b-2.msk:9096"],
        topic: { name: "Job_Events", partitions: 24, config: { "retention.ms": 604800000 } },
        consumerGroup: "emails",
        tls: { enabled: true, caSecretRef: { name: "kafka-ca", key: "ca.pem" } },
        sasl: { mechanism: "scram-sha-512", secretRef: { name: "kafka-credentials" } },
      },
      replicas: { min: 0, max: 24 },
      scaling: { fallback: { replicas: 2, behavior: "currentReplicasIfHigher" } },
      env: [
        { name: "DATABASE_URL", valueFrom: { secretKeyRef: { name: "db", key: "url" } } },
        { name: "SMTP_HOST", valueFrom: { configMapKeyRef: { name: "smtp", key: "host" } } },
        { name: "LOG_LEVEL", value: "debug" },
      ],
      envFrom: [{ secretRef: { name: "smtp" }, prefix: "SMTP_" }, { configMapRef: { name: "x" } }],
      resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: 2 } },
    },
    production: PRODUCTION_SPEC,
    strimzi: {
      image: IMAGE,
      kafka: { bootstrapServers: ["main-kafka-bootstrap:9092"], topic: { partitions: 3 } },
      replicas: { max: 3 },
      topicProvisioning: {
        mode: "strimzi",
        strimzi: { clusterName: "main", namespace: kafkaNamespace, deletionPolicy: "Delete" },
      },
    },
  };
  // The Pod Security check is live: a Deployment running as root draws a warning.
  const { deployment } = synthesizePool(
    await createPool(namespace, "probe", specs.minimal!),
  );
  const rooted = structuredClone(deployment);
  const template = rooted.spec as { template: { spec: object } };
  template.template.spec = { containers: [{ name: "worker", image: IMAGE }] };
  const warned = await kubectlChecked(
    ["apply", "--dry-run=server", "--server-side", "--field-manager=synth-test", "-f", "-"],
    { stdin: JSON.stringify(rooted) },
  );
  assert.match(warned.stderr, /PodSecurity/);

  for (const [name, spec] of Object.entries(specs)) {
    const pool = await createPool(namespace, name, spec);
    const objects = poolObjectList(synthesizePool(pool));
    for (const object of objects) await dryRun(object);
  }
});

Deno.test("the examples and the install bundle pass server-side dry-run", async () => {
  await installCrd();
  const namespace = await restrictedNamespace("synth-examples");
  for (const example of examples()) {
    const file = join(ROOT, "manifests", "examples", example.file);
    await kubectlOk(["apply", "--dry-run=server", "-n", namespace, "-f", file]);
    await dryRun(example.pool, namespace);
    const pool = await createPool(
      namespace,
      example.pool.metadata.name,
      example.pool.spec,
    );
    for (const object of poolObjectList(synthesizePool(pool))) {
      // The example's Strimzi namespace need not exist here: check the topic in the pool's.
      const copy: Manifest = structuredClone(object);
      if (copy.kind === "KafkaTopic") copy.metadata.namespace = namespace;
      await dryRun(copy);
    }
  }

  const operatorNamespace = kubeName("synth-operator");
  const install = synthesizeInstall({ namespace: operatorNamespace });
  await kubectlOk(["create", "-f", "-"], { stdin: JSON.stringify(install.namespace) });
  for (const object of installObjectList(install).slice(1)) await dryRun(object);
});

Deno.test("CEL rules reject bad pools with messages that say what to change", async () => {
  await installCrd();
  const namespace = kubeName("synth-cel");
  await kubectlOk(["create", "namespace", namespace]);
  const base = { image: IMAGE, kafka: { bootstrapServers: ["kafka:9092"] } };
  const tryCreate = (spec: JobWorkerPoolSpecInput) =>
    kubectl(
      ["create", "--dry-run=server", "-n", namespace, "-f", "-"],
      { stdin: JSON.stringify(manifest(kubeName("bad"), spec)) },
    );

  assert.match(
    rejection(await tryCreate({ ...base, pool: { min: 8, max: 4 } })),
    /pool\.min must be <= pool\.max/,
  );
  assert.match(
    rejection(await tryCreate({ ...base, replicas: { min: 5, max: 2 } })),
    /replicas\.min must be <= replicas\.max/,
  );
  const overPartitions = { ...base, replicas: { max: 20 } };
  assert.match(
    rejection(await tryCreate(overPartitions)),
    /replicas\.max must not exceed kafka\.topic\.partitions/,
  );
  const idle = await tryCreate({ ...overPartitions, scaling: { allowIdleConsumers: true } });
  assert.ok(idle.success, idle.stderr);
  assert.match(
    rejection(await tryCreate({ ...base, env: [{ name: "KAFKA_BROKERS", value: "x:1" }] })),
    /the operator sets KAFKA_BROKERS/,
  );
  assert.match(
    rejection(await tryCreate({ ...base, topicProvisioning: { mode: "strimzi" } })),
    /topicProvisioning\.strimzi/,
  );
  assert.match(
    rejection(await tryCreate({ ...base, kafka: { bootstrapServers: ["no-port"] } })),
    /bootstrapServers/,
  );
  assert.match(
    rejection(
      await tryCreate({
        ...base,
        scaling: { allowIdleConsumers: true, limitToPartitionsWithLag: true },
      }),
    ),
    /allowIdleConsumers and limitToPartitionsWithLag cannot both be set/,
  );
  assert.match(
    rejection(await tryCreate({ ...base, podLabels: { "app.kubernetes.io/instance": "x" } })),
    /the operator sets app\.kubernetes\.io\/name, .* on worker pods/,
  );
  assert.match(
    rejection(
      await tryCreate({
        ...base,
        kafka: { ...base.kafka, tls: { clientCertSecretRef: { name: "client" } } },
      }),
    ),
    /clientCertSecretRef needs enabled: true/,
  );
  assert.match(
    rejection(await tryCreate({ ...base, podSecurityContext: { runAsUser: 0 } })),
    /runAsUser/,
  );
  assert.match(
    rejection(await tryCreate({ ...base, env: [{ name: "KAFKA_TLS_CERT_FILE", value: "/x" }] })),
    /the operator sets .*KAFKA_TLS_CERT_FILE/,
  );
  assert.match(
    rejection(await tryCreate({ ...base, scaling: { mode: "none" } })),
    /scaling\.mode none runs a fixed number of replicas: set replicas\.min equal/,
  );
  assert.match(
    rejection(await tryCreate({ ...base, scaling: { fallback: { replicas: 11 } } })),
    /scaling\.fallback\.replicas must not exceed replicas\.max/,
  );
  assert.match(
    rejection(
      await tryCreate({
        ...base,
        replicas: { min: 2, max: 2 },
        scaling: { mode: "none", fallback: { replicas: 1 } },
      }),
    ),
    /scaling\.fallback needs scaling\.mode keda/,
  );

  const name = kubeName("grow");
  const spec = { ...base, kafka: { ...base.kafka, topic: { partitions: 12 } } };
  await createPool(namespace, name, spec);
  const update = (topic: Record<string, number>) =>
    kubectl(
      [
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=synth-test",
        "-n",
        namespace,
        "-f",
        "-",
      ],
      { stdin: JSON.stringify(manifest(name, { ...base, kafka: { ...base.kafka, topic } })) },
    );
  assert.match(rejection(await update({ partitions: 6 })), /partitions can only grow/);
  assert.match(
    rejection(await update({ partitions: 12, replicationFactor: 1 })),
    /replicationFactor is immutable/,
  );
  const grown = await update({ partitions: 24 });
  assert.ok(grown.success, grown.stderr);
});

Deno.test("a v1beta2 KafkaTopic passes Strimzi 0.49.1's schema", async () => {
  const logDir = await mkdtemp(join(tmpdir(), "jobpool-synth-v1beta2-"));
  const server = await startKube({ logDir, crds: [CRD_FIXTURES.strimziKafkaTopicsV1beta2] });
  try {
    await server.kubectl(["create", "namespace", "kafka"]);
    const pool = {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: {
        name: "positions",
        namespace: "ranking",
        uid: "0b0e5c1e-0000-4000-8000-000000000001",
      },
      spec: applyDefaults({
        image: IMAGE,
        kafka: {
          bootstrapServers: ["main-kafka-bootstrap.kafka:9092"],
          topic: { name: "Position_Jobs" },
        },
        topicProvisioning: {
          mode: "strimzi",
          strimzi: {
            clusterName: "main",
            namespace: "kafka",
            apiVersion: "v1beta2",
            deletionPolicy: "Retain",
          },
        },
      }),
    } satisfies JobWorkerPool;
    const topic = synthesizePool(pool).kafkaTopic;
    assert.equal(topic?.apiVersion, "kafka.strimzi.io/v1beta2");
    await server.kubectl(["apply", "--dry-run=server", "-f", "-"], {
      stdin: JSON.stringify(topic),
    });
  } finally {
    await server.stop();
    await Deno.remove(logDir, { recursive: true }).catch(() => {});
  }
});
