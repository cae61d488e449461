/**
 * `synthesizePool`: a pure function from a `JobWorkerPool` to the plain JSON
 * manifests that run it (worker Deployment, KEDA ScaledObject and maybe a
 * TriggerAuthentication, and a Strimzi KafkaTopic when the pool provisions
 * its topic), built in memory with cdk8s. Nothing is written to disk.
 *
 * @module
 */

import { App, Chart } from "cdk8s";
import { applyDefaults, consumerGroupOf, type JobWorkerPool } from "../api/mod.ts";
import { KafkaTrigger, ScaledObject, type SecretTargetRef, TriggerAuthentication } from "./keda.ts";
import {
  commonLabels,
  kafkaTopicNamespace,
  kafkaTopicResourceName,
  ownerReferences,
  poolLabels,
  poolNamespace,
  scalerName,
  triggerAuthenticationName,
  workerName,
} from "./names.ts";
import { KafkaTopic, STRIMZI_CLUSTER_LABEL } from "./strimzi.ts";
import type { Manifest } from "../runtime/object.ts";
import {
  addWorkerDeployment,
  finishWorkerDeployment,
  OFFSET_RESET_POLICY,
} from "./worker_deployment.ts";

/** What a pool is made of. */
export interface PoolObjects {
  /** The worker Deployment, in the pool's namespace. */
  deployment: Manifest;
  /** The KEDA ScaledObject scaling the Deployment on consumer lag; none with `scaling.mode: none`. */
  scaledObject?: Manifest;
  /** KEDA's credentials for Kafka, when the pool uses SASL or a TLS CA Secret. */
  triggerAuthentication?: Manifest;
  /**
   * The Strimzi KafkaTopic, with `topicProvisioning.mode: strimzi`. It lives in the
   * Kafka cluster's namespace and never has an owner reference (that would delete
   * the topic with the pool, whatever the deletion policy): it carries the
   * `jobpool.dev/pool-*` labels for finalizer-driven cleanup instead.
   */
  kafkaTopic?: Manifest;
}

const SASL_TYPES = {
  "plain": "plaintext",
  "scram-sha-256": "scram_sha256",
  "scram-sha-512": "scram_sha512",
} as const;

/**
 * The manifests for `pool`. Pure and deterministic: the same pool gives the
 * same JSON. Applies the schema defaults first, so un-defaulted specs work.
 *
 * The Deployment has no `spec.replicas`: the operator sets it when it
 * creates the Deployment (and where nothing scales it), never by server-side
 * apply, so that KEDA's HPA owns it afterwards (see ADR 0008).
 */
export function synthesizePool(pool: JobWorkerPool): PoolObjects {
  const defaulted: JobWorkerPool = { ...pool, spec: applyDefaults(pool.spec) };
  const { spec } = defaulted;
  const app = new App({ outdir: "cdk8s.out", recordConstructMetadata: false });
  const chart = new Chart(app, "pool", {
    namespace: poolNamespace(defaulted),
    labels: commonLabels(defaulted),
    disableResourceNameHashes: true,
  });
  addWorkerDeployment(chart, defaulted);
  if (spec.scaling.mode === "keda") addScaler(chart, defaulted);

  const strimzi = spec.topicProvisioning.mode === "strimzi"
    ? spec.topicProvisioning.strimzi
    : undefined;
  if (strimzi) {
    const { name, partitions, replicationFactor, config } = spec.kafka.topic;
    new KafkaTopic(chart, "topic", {
      version: strimzi.apiVersion,
      metadata: {
        name: kafkaTopicResourceName(name),
        namespace: kafkaTopicNamespace(defaulted),
        labels: { [STRIMZI_CLUSTER_LABEL]: strimzi.clusterName, ...poolLabels(defaulted) },
      },
      spec: {
        topicName: name,
        partitions,
        replicas: replicationFactor,
        ...(config && Object.keys(config).length > 0 ? { config } : {}),
      },
    });
  }

  const objects = chart.toJson() as Manifest[];
  const byKind = (kind: string) => objects.find((object) => object.kind === kind);
  const deployment = byKind("Deployment");
  if (!deployment) throw new Error("Synthesis lost the Deployment: this is a jobpool bug");
  finishWorkerDeployment(deployment, defaulted);
  const scaledObject = byKind("ScaledObject");
  const triggerAuthentication = byKind("TriggerAuthentication");
  const kafkaTopic = byKind("KafkaTopic");
  return {
    deployment,
    ...(scaledObject ? { scaledObject } : {}),
    ...(triggerAuthentication ? { triggerAuthentication } : {}),
    ...(kafkaTopic ? { kafkaTopic } : {}),
  };
}

/** The KEDA ScaledObject and, for SASL or a TLS CA, its TriggerAuthentication. */
function addScaler(chart: Chart, pool: JobWorkerPool): void {
  const { spec } = pool;
  const owners = ownerReferences(pool);
  const secretRefs: SecretTargetRef[] = [];
  if (spec.kafka.sasl) {
    const { name, usernameKey, passwordKey } = spec.kafka.sasl.secretRef;
    secretRefs.push({ parameter: "username", name, key: usernameKey });
    secretRefs.push({ parameter: "password", name, key: passwordKey });
  }
  if (spec.kafka.tls.caSecretRef) {
    const { name, key } = spec.kafka.tls.caSecretRef;
    secretRefs.push({ parameter: "ca", name, key });
  }
  if (spec.kafka.tls.clientCertSecretRef) {
    const { name, certKey, keyKey } = spec.kafka.tls.clientCertSecretRef;
    secretRefs.push({ parameter: "cert", name, key: certKey });
    secretRefs.push({ parameter: "key", name, key: keyKey });
  }
  if (secretRefs.length > 0) {
    new TriggerAuthentication(chart, "kafka-auth", {
      metadata: { name: triggerAuthenticationName(pool), ownerReferences: owners },
      spec: { secretTargetRef: secretRefs },
    });
  }

  const trigger: KafkaTrigger = {
    type: "kafka",
    metadata: {
      bootstrapServers: spec.kafka.bootstrapServers.join(","),
      consumerGroup: consumerGroupOf(pool),
      topic: spec.kafka.topic.name,
      lagThreshold: String(spec.scaling.lagThreshold),
      activationLagThreshold: String(spec.scaling.activationLagThreshold),
      offsetResetPolicy: OFFSET_RESET_POLICY,
      allowIdleConsumers: flag(spec.scaling.allowIdleConsumers),
      limitToPartitionsWithLag: flag(spec.scaling.limitToPartitionsWithLag),
      excludePersistentLag: flag(spec.scaling.excludePersistentLag),
      scaleToZeroOnInvalidOffset: flag(spec.scaling.scaleToZeroOnInvalidOffset),
      ...(spec.kafka.sasl ? { sasl: SASL_TYPES[spec.kafka.sasl.mechanism] } : {}),
      ...(spec.kafka.tls.enabled ? { tls: "enable" as const } : {}),
    },
    ...(secretRefs.length > 0
      ? {
        authenticationRef: {
          name: triggerAuthenticationName(pool),
          kind: "TriggerAuthentication" as const,
        },
      }
      : {}),
  };
  new ScaledObject(chart, "scaler", {
    metadata: { name: scalerName(pool), ownerReferences: owners },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: workerName(pool) },
      pollingInterval: spec.scaling.pollingInterval,
      cooldownPeriod: spec.scaling.cooldownPeriod,
      minReplicaCount: spec.replicas.min,
      maxReplicaCount: spec.replicas.max,
      ...(spec.scaling.fallback ? { fallback: { ...spec.scaling.fallback } } : {}),
      ...(spec.scaling.behavior
        ? { advanced: { horizontalPodAutoscalerConfig: { behavior: spec.scaling.behavior } } }
        : {}),
      triggers: [trigger],
    },
  });
}

/** KEDA's trigger metadata is all strings. */
function flag(value: boolean): "true" | "false" {
  return value ? "true" : "false";
}

/** The objects of a pool as one list, in apply order (auth before the scaler that uses it). */
export function poolObjectList(objects: PoolObjects): Manifest[] {
  return [
    objects.kafkaTopic,
    objects.deployment,
    objects.triggerAuthentication,
    objects.scaledObject,
  ].filter((object): object is Manifest => object !== undefined);
}
