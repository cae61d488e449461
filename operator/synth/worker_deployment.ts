/**
 * The worker Deployment (cdk8s-plus-28): a hardened pod running the jobpool
 * worker with its `KAFKA_*` settings from the pool's spec.
 *
 * @module
 */

import { type Chart, Duration } from "cdk8s";
import * as kplus from "cdk8s-plus-28";
import { consumerGroupOf, type JobWorkerPool, type ReservedEnvName } from "../api/mod.ts";
import {
  LABELS,
  MANAGER_NAME,
  METRICS_PORT,
  ownerReferences,
  selectorLabels,
  WORKER_CONTAINER_NAME,
  workerName,
} from "./names.ts";
import type { Manifest } from "../runtime/object.ts";
import { mountWritableTmp, RESTRICTED_CONTAINER_SECURITY } from "./restricted.ts";
import { finishWorkerPod } from "./worker_pod.ts";

/** Where the Kafka CA certificate is mounted when `kafka.tls.caSecretRef` is set. */
export const KAFKA_CA_DIR = "/etc/jobpool/kafka-ca";

/** Where the worker finds the CA certificate inside {@linkcode KAFKA_CA_DIR}. */
export const KAFKA_CA_FILE = `${KAFKA_CA_DIR}/ca.crt`;

/** Where the client certificate and key are mounted when `kafka.tls.clientCertSecretRef` is set. */
export const KAFKA_CLIENT_CERT_DIR = "/etc/jobpool/kafka-client";

/** The client certificate and key inside {@linkcode KAFKA_CLIENT_CERT_DIR}. */
export const KAFKA_CLIENT_CERT_FILES = {
  cert: `${KAFKA_CLIENT_CERT_DIR}/tls.crt`,
  key: `${KAFKA_CLIENT_CERT_DIR}/tls.key`,
} as const;

/** The offset reset policy of the worker and of its scaler: a new group reads from the start. */
export const OFFSET_RESET_POLICY = "earliest";

/** Adds the pool's worker Deployment, without `spec.replicas`, to `chart` and returns it. */
export function addWorkerDeployment(chart: Chart, pool: JobWorkerPool): kplus.Deployment {
  const { spec } = pool;
  const deployment = new kplus.Deployment(chart, "worker", {
    metadata: { name: workerName(pool), ownerReferences: ownerReferences(pool) },
    select: false,
    // managed-by as well: the chart's PodMonitor selects worker Pods by it.
    podMetadata: { labels: { ...selectorLabels(pool), [LABELS.managedBy]: MANAGER_NAME } },
    automountServiceAccountToken: false,
    securityContext: { ensureNonRoot: true },
    terminationGracePeriod: Duration.seconds(terminationGraceSeconds(pool)),
  });
  deployment.select(kplus.LabelSelector.of({ labels: selectorLabels(pool) }));
  deployment.markHasAutoscaler();

  const container = deployment.addContainer({
    name: WORKER_CONTAINER_NAME,
    image: spec.image,
    imagePullPolicy: spec.imagePullPolicy as kplus.ImagePullPolicy,
    ports: [{ number: METRICS_PORT, name: "metrics" }],
    liveness: kplus.Probe.fromHttpGet("/healthz", { port: METRICS_PORT }),
    readiness: kplus.Probe.fromHttpGet("/readyz", { port: METRICS_PORT }),
    securityContext: RESTRICTED_CONTAINER_SECURITY,
  });
  mountWritableTmp(chart, container);

  for (const [name, value] of Object.entries(workerEnv(pool))) {
    container.env.addVariable(name, kplus.EnvValue.fromValue(value));
  }
  const sasl = spec.kafka.sasl;
  if (sasl) {
    const secret = kplus.Secret.fromSecretName(chart, "kafka-sasl-secret", sasl.secretRef.name);
    container.env.addVariable(
      "KAFKA_SASL_USERNAME" satisfies ReservedEnvName,
      kplus.EnvValue.fromSecretValue({ secret, key: sasl.secretRef.usernameKey }),
    );
    container.env.addVariable(
      "KAFKA_SASL_PASSWORD" satisfies ReservedEnvName,
      kplus.EnvValue.fromSecretValue({ secret, key: sasl.secretRef.passwordKey }),
    );
  }
  const ca = spec.kafka.tls.caSecretRef;
  if (ca) {
    const secret = kplus.Secret.fromSecretName(chart, "kafka-ca-secret", ca.name);
    const volume = kplus.Volume.fromSecret(chart, "kafka-ca", secret, {
      name: "kafka-ca",
      items: { [ca.key]: { path: "ca.crt" } },
    });
    container.mount(KAFKA_CA_DIR, volume, { readOnly: true });
  }
  const clientCert = spec.kafka.tls.clientCertSecretRef;
  if (clientCert) {
    const secret = kplus.Secret.fromSecretName(chart, "kafka-client-secret", clientCert.name);
    const volume = kplus.Volume.fromSecret(chart, "kafka-client-cert", secret, {
      name: "kafka-client-cert",
      items: {
        [clientCert.certKey]: { path: "tls.crt" },
        [clientCert.keyKey]: { path: "tls.key" },
      },
    });
    container.mount(KAFKA_CLIENT_CERT_DIR, volume, { readOnly: true });
  }
  addUserEnv(chart, container, pool);

  return deployment;
}

/**
 * Finishes the synthesized Deployment JSON in place: the container gets the
 * spec's resources as written (cdk8s-plus only takes typed CPU and memory
 * sizes and would add its own defaults), and the construct-path label cdk8s
 * puts on pods even without `select` is dropped (the selector labels suffice).
 */
export function finishWorkerDeployment(deployment: Manifest, pool: JobWorkerPool): void {
  const template = (deployment.spec as PodTemplateHolder).template;
  delete template.metadata?.labels?.["cdk8s.io/metadata.addr"];
  const container = template.spec.containers.find((c) => c.name === WORKER_CONTAINER_NAME);
  if (!container) throw new Error("The worker container is missing: this is a jobpool bug");
  container.resources = structuredClone(pool.spec.resources);
  finishWorkerPod(deployment, pool);
}

interface PodTemplateHolder {
  template: {
    metadata?: { labels?: Record<string, string> };
    spec: { containers: { name: string; resources?: unknown }[] };
  };
}

/** The worker's default `SHUTDOWN_TIMEOUT_MS`: in-flight jobs get this long on SIGTERM. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;

/**
 * Seconds Kubernetes waits between SIGTERM and SIGKILL: the worker's shutdown
 * timeout (`SHUTDOWN_TIMEOUT_MS` from `spec.env`, else its default) plus 15 s
 * to commit offsets and leave the group.
 */
export function terminationGraceSeconds(pool: JobWorkerPool): number {
  const configured = pool.spec.env?.find((variable) => variable.name === "SHUTDOWN_TIMEOUT_MS");
  const parsed = Number(configured?.value);
  const shutdownMs = Number.isInteger(parsed) && parsed >= 0 ? parsed : DEFAULT_SHUTDOWN_TIMEOUT_MS;
  return Math.ceil(shutdownMs / 1000) + 15;
}

/** The plain-value `KAFKA_*` variables of the worker (Secrets are added by reference). */
export function workerEnv(pool: JobWorkerPool): Partial<Record<ReservedEnvName, string>> {
  const { kafka, pool: size, jobTypes } = pool.spec;
  const env: Partial<Record<ReservedEnvName, string>> = {
    KAFKA_BROKERS: kafka.bootstrapServers.join(","),
    KAFKA_JOB_TOPIC: kafka.topic.name,
    KAFKA_JOB_CONSUMER_GROUP: consumerGroupOf(pool),
    KAFKA_JOB_TYPES: jobTypes.join(","),
    KAFKA_WORKER_POOL_SIZE: String(size.max),
    KAFKA_WORKER_POOL_MIN: String(size.min),
    KAFKA_WORKER_POOL_MAX: String(size.max),
    KAFKA_OFFSET_RESET: OFFSET_RESET_POLICY,
    KAFKA_TLS: String(kafka.tls.enabled),
    METRICS_PORT: String(METRICS_PORT),
  };
  if (kafka.tls.caSecretRef) env.KAFKA_TLS_CA_FILE = KAFKA_CA_FILE;
  if (kafka.tls.clientCertSecretRef) {
    env.KAFKA_TLS_CERT_FILE = KAFKA_CLIENT_CERT_FILES.cert;
    env.KAFKA_TLS_KEY_FILE = KAFKA_CLIENT_CERT_FILES.key;
  }
  if (kafka.sasl) env.KAFKA_SASL_MECHANISM = kafka.sasl.mechanism;
  return env;
}

function addUserEnv(chart: Chart, container: kplus.Container, pool: JobWorkerPool): void {
  for (const [index, variable] of (pool.spec.env ?? []).entries()) {
    const from = variable.valueFrom;
    let value: kplus.EnvValue;
    if (from?.secretKeyRef) {
      const ref = from.secretKeyRef;
      const secret = kplus.Secret.fromSecretName(chart, `env-${index}-secret`, ref.name);
      value = kplus.EnvValue.fromSecretValue(
        { secret, key: ref.key },
        ref.optional === undefined ? {} : { optional: ref.optional },
      );
    } else if (from?.configMapKeyRef) {
      const ref = from.configMapKeyRef;
      const configMap = kplus.ConfigMap.fromConfigMapName(chart, `env-${index}-cm`, ref.name);
      value = kplus.EnvValue.fromConfigMap(
        configMap,
        ref.key,
        ref.optional === undefined ? {} : { optional: ref.optional },
      );
    } else {
      value = kplus.EnvValue.fromValue(variable.value ?? "");
    }
    container.env.addVariable(variable.name, value);
  }
  for (const [index, source] of (pool.spec.envFrom ?? []).entries()) {
    const secret = source.secretRef &&
      kplus.Secret.fromSecretName(chart, `envfrom-${index}-secret`, source.secretRef.name);
    const configMap = source.configMapRef &&
      kplus.ConfigMap.fromConfigMapName(chart, `envfrom-${index}-cm`, source.configMapRef.name);
    container.env.copyFrom(new kplus.EnvFrom(configMap, source.prefix, secret));
  }
}
