import assert from "node:assert/strict";
import { type JobWorkerPoolSpecInput, newJobWorkerPool } from "../api/mod.ts";
import { synthesizePool } from "./synthesize.ts";

type Json = Record<string, unknown>;

const production: JobWorkerPoolSpecInput = {
  image: "registry.example/jobpool/worker:1",
  kafka: {
    bootstrapServers: ["b-1.example:9094"],
    tls: {
      enabled: true,
      caSecretRef: { name: "kafka-ca" },
      clientCertSecretRef: { name: "kafka-client" },
    },
  },
  scaling: {
    limitToPartitionsWithLag: true,
    excludePersistentLag: true,
    scaleToZeroOnInvalidOffset: true,
    behavior: { scaleDown: { stabilizationWindowSeconds: 600 } },
  },
  imagePullSecrets: [{ name: "regcred" }],
  serviceAccountName: "jobpool-worker",
  priorityClassName: "jobs",
  nodeSelector: { "kubernetes.io/arch": "arm64" },
  tolerations: [{ key: "dedicated", operator: "Equal", value: "jobs", effect: "NoSchedule" }],
  affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: {} } },
  topologySpreadConstraints: [
    { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway" },
  ],
  podLabels: { team: "growth", "app.kubernetes.io/version": "1" },
  podAnnotations: { "sidecar.istio.io/inject": "false" },
  podSecurityContext: { runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001 },
  tmpSizeLimit: "16Mi",
};

const objects = synthesizePool(
  newJobWorkerPool({ name: "prod", namespace: "jobs", uid: "uid-prod" }, production),
);
const template = (objects.deployment["spec"] as { template: { metadata: Json; spec: Json } })
  .template;

Deno.test("pod settings land in the pod template as Kubernetes takes them", () => {
  const pod = template.spec;
  assert.deepEqual(pod["imagePullSecrets"], [{ name: "regcred" }]);
  assert.equal(pod["serviceAccountName"], "jobpool-worker");
  assert.equal(pod["automountServiceAccountToken"], false);
  assert.equal(pod["priorityClassName"], "jobs");
  assert.deepEqual(pod["nodeSelector"], { "kubernetes.io/arch": "arm64" });
  assert.deepEqual(pod["tolerations"], production.tolerations);
  assert.deepEqual(pod["affinity"], production.affinity);
  assert.deepEqual(pod["topologySpreadConstraints"], [{
    maxSkew: 1,
    topologyKey: "topology.kubernetes.io/zone",
    whenUnsatisfiable: "ScheduleAnyway",
    labelSelector: {
      matchLabels: {
        "app.kubernetes.io/name": "jobpool-worker",
        "app.kubernetes.io/instance": "prod",
      },
    },
  }]);
  assert.deepEqual(pod["securityContext"], {
    fsGroupChangePolicy: "Always",
    runAsNonRoot: true,
    runAsUser: 10001,
    runAsGroup: 10001,
    fsGroup: 10001,
  });
  const volumes = pod["volumes"] as Array<{ name: string; emptyDir?: Json }>;
  assert.deepEqual(volumes.find((v) => v.name === "tmp")?.emptyDir, { sizeLimit: "16Mi" });
});

Deno.test("pod labels and annotations are added; the operator's labels stay", () => {
  const metadata = template.metadata as { labels: Json; annotations: Json };
  assert.equal(metadata.labels["team"], "growth");
  assert.equal(metadata.labels["app.kubernetes.io/instance"], "prod");
  assert.equal(metadata.annotations["sidecar.istio.io/inject"], "false");
});

Deno.test("mutual TLS: the worker mounts the client certificate, KEDA reads it", () => {
  const container = (template.spec["containers"] as Json[])[0] as {
    env: Array<{ name: string; value?: string }>;
    volumeMounts: Array<{ mountPath: string; name: string }>;
  };
  const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
  assert.equal(env["KAFKA_TLS_CERT_FILE"], "/etc/jobpool/kafka-client/tls.crt");
  assert.equal(env["KAFKA_TLS_KEY_FILE"], "/etc/jobpool/kafka-client/tls.key");
  assert.ok(container.volumeMounts.some((m) => m.mountPath === "/etc/jobpool/kafka-client"));
  const refs = (objects.triggerAuthentication?.["spec"] as {
    secretTargetRef: Array<{ parameter: string; name: string; key: string }>;
  }).secretTargetRef;
  assert.deepEqual(refs.filter((r) => r.name === "kafka-client"), [
    { parameter: "cert", name: "kafka-client", key: "tls.crt" },
    { parameter: "key", name: "kafka-client", key: "tls.key" },
  ]);
});

Deno.test("scaler options: KEDA's trigger flags and the HPA's behavior", () => {
  const spec = objects.scaledObject?.["spec"] as {
    triggers: Array<{ metadata: Record<string, string> }>;
    advanced?: Json;
  };
  const metadata = spec.triggers[0]?.metadata ?? {};
  assert.equal(metadata["limitToPartitionsWithLag"], "true");
  assert.equal(metadata["excludePersistentLag"], "true");
  assert.equal(metadata["scaleToZeroOnInvalidOffset"], "true");
  assert.deepEqual(spec.advanced, {
    horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 600 } } },
  });
});
