/**
 * What the JobWorkerPool schema rejects at admission (server-side: the API
 * server's own validation, OpenAPI and CEL), with messages a person can act
 * on. No operator needs to run.
 */

import assert from "node:assert/strict";
import { POOL_RESOURCE } from "../../operator/api/mod.ts";
import { KubeApiError } from "../../operator/runtime/mod.ts";
import {
  createNamespace,
  installPoolCrd,
  newClient,
  poolManifest,
  sharedKube,
} from "./operator_support.ts";

Deno.test("invalid JobWorkerPools are rejected by the API server with useful messages", async (t) => {
  const access = sharedKube();
  await installPoolCrd(access);
  const namespace = await createNamespace(access, "op-adm");
  const client = await newClient(access);
  const rejects = async (name: string, spec: Record<string, unknown>, message: RegExp) => {
    const error = await client.create(POOL_RESOURCE, poolManifest(namespace, name, spec)).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(error instanceof KubeApiError, `${name} was accepted`);
    assert.equal(error.code, 422);
    assert.match(error.message, message);
  };
  try {
    await t.step("replicas.min > replicas.max", () =>
      rejects(
        "bad-replicas",
        { replicas: { min: 5, max: 2 } },
        /spec\.replicas\.min: Invalid value.*replicas\.min must be <= replicas\.max/,
      ));
    await t.step("replicas.max above the partitions", () =>
      rejects(
        "too-many",
        {
          kafka: { bootstrapServers: ["k:9092"], topic: { name: "t", partitions: 2 } },
          replicas: { min: 1, max: 4 },
        },
        /replicas\.max must not exceed kafka\.topic\.partitions/,
      ));
    await t.step("strimzi mode without the cluster", () =>
      rejects(
        "no-cluster",
        { topicProvisioning: { mode: "strimzi" } },
        /topicProvisioning\.strimzi \(clusterName at least\) is required/,
      ));
    await t.step(
      "missing image",
      () => rejects("no-image", { image: undefined }, /spec\.image: Required value/),
    );
    await t.step("a name longer than 63 characters (it becomes a label value)", async () => {
      await rejects("x".repeat(64), {}, /metadata\.name must be at most 63 characters/);
      await client.create(POOL_RESOURCE, poolManifest(namespace, "x".repeat(63)));
    });
    await t.step("unknown SASL mechanism", () =>
      rejects(
        "bad-sasl",
        {
          kafka: {
            bootstrapServers: ["k:9092"],
            sasl: { mechanism: "gssapi", secretRef: { name: "kafka-user" } },
          },
        },
        /spec\.kafka\.sasl\.mechanism: Unsupported value: "gssapi"/,
      ));
    await t.step("partitions can only grow", async () => {
      const spec = (partitions: number) => ({
        kafka: { bootstrapServers: ["k:9092"], topic: { name: "t", partitions } },
      });
      await client.apply(POOL_RESOURCE, poolManifest(namespace, "grow", spec(6)), {
        fieldManager: "test",
      });
      const error = await client.apply(POOL_RESOURCE, poolManifest(namespace, "grow", spec(3)), {
        fieldManager: "test",
      }).then(() => undefined, (error: unknown) => error);
      assert.ok(error instanceof KubeApiError);
      assert.match(error.message, /partitions can only grow/);
    });
  } finally {
    client.close();
  }
});
