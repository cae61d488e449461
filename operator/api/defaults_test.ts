import assert from "node:assert/strict";
import { applyDefaults, consumerGroupOf, defaultConsumerGroup, newJobWorkerPool } from "./mod.ts";

Deno.test("applyDefaults fills in every schema default", () => {
  const spec = applyDefaults({ image: "worker:1", kafka: { bootstrapServers: ["kafka:9092"] } });
  assert.deepEqual(spec, {
    image: "worker:1",
    imagePullPolicy: "IfNotPresent",
    jobTypes: ["*"],
    kafka: {
      bootstrapServers: ["kafka:9092"],
      topic: { name: "job-events", partitions: 12, replicationFactor: 3 },
      tls: { enabled: false },
    },
    pool: { min: 1, max: 10 },
    replicas: { min: 1, max: 10 },
    scaling: {
      mode: "keda",
      lagThreshold: 50,
      activationLagThreshold: 0,
      pollingInterval: 30,
      cooldownPeriod: 300,
      allowIdleConsumers: false,
      limitToPartitionsWithLag: false,
      excludePersistentLag: false,
      scaleToZeroOnInvalidOffset: false,
    },
    podSecurityContext: { runAsUser: 65532, runAsGroup: 65532 },
    tmpSizeLimit: "64Mi",
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
    topicProvisioning: { mode: "none" },
  });
});

Deno.test("applyDefaults keeps given values and defaults inside optional objects", () => {
  const input = {
    image: "worker:1",
    kafka: {
      bootstrapServers: ["kafka:9092"],
      topic: { partitions: 3 },
      sasl: { mechanism: "plain" as const, secretRef: { name: "creds" } },
    },
    replicas: { max: 3 },
    topicProvisioning: { mode: "strimzi" as const, strimzi: { clusterName: "main" } },
  };
  const before = structuredClone(input);
  const spec = applyDefaults(input);
  assert.deepEqual(input, before, "the input is not changed");
  assert.deepEqual(spec.kafka.topic, { partitions: 3, name: "job-events", replicationFactor: 3 });
  assert.deepEqual(spec.kafka.sasl?.secretRef, {
    name: "creds",
    usernameKey: "username",
    passwordKey: "password",
  });
  assert.deepEqual(spec.replicas, { max: 3, min: 1 });
  assert.deepEqual(spec.topicProvisioning.strimzi, {
    clusterName: "main",
    apiVersion: "v1",
    deletionPolicy: "Retain",
  });
});

Deno.test("applyDefaults is idempotent", () => {
  const once = applyDefaults({ image: "worker:1", kafka: { bootstrapServers: ["kafka:9092"] } });
  assert.deepEqual(applyDefaults(once), once);
});

Deno.test("the default consumer group is derived from namespace and name", () => {
  const pool = newJobWorkerPool(
    { name: "emails", namespace: "shop" },
    { image: "worker:1", kafka: { bootstrapServers: ["kafka:9092"] } },
  );
  assert.equal(defaultConsumerGroup(pool), "jobpool.shop.emails");
  assert.equal(consumerGroupOf(pool), "jobpool.shop.emails");
  pool.spec.kafka.consumerGroup = "mine";
  assert.equal(consumerGroupOf(pool), "mine");
});

Deno.test("newJobWorkerPool rejects a missing name", () => {
  assert.throws(
    () => newJobWorkerPool({ name: "" }, { image: "w", kafka: { bootstrapServers: ["k:1"] } }),
    TypeError,
  );
});

Deno.test("default consumer groups of different pools never collide", () => {
  const group = (namespace: string, name: string) =>
    defaultConsumerGroup({ metadata: { namespace, name } });
  assert.notEqual(group("a-b", "c"), group("a", "b-c"));
  assert.notEqual(group("a", "b.c"), group("a-b", "c"));
});
