/**
 * What the JobWorkerPool schema rejects at admission, with messages a person
 * can act on (no operator needs to run).
 */

import assert from "node:assert/strict";
import {
  applyObjects,
  createNamespace,
  installPoolCrd,
  poolManifest,
  sharedKube,
} from "./operator_support.ts";

Deno.test("invalid JobWorkerPools are rejected by the API server with useful messages", async (t) => {
  const access = sharedKube();
  await installPoolCrd(access);
  const namespace = await createNamespace(access, "op-adm");
  const rejects = async (name: string, spec: Record<string, unknown>, message: RegExp) => {
    await assert.rejects(applyObjects(access, poolManifest(namespace, name, spec)), message);
  };

  await t.step(
    "replicas.min > replicas.max",
    () =>
      rejects(
        "bad-replicas",
        { replicas: { min: 5, max: 2 } },
        /replicas\.min must be <= replicas\.max/,
      ),
  );
  await t.step("replicas.max above the partitions", () =>
    rejects(
      "too-many",
      {
        kafka: { bootstrapServers: ["k:9092"], topic: { name: "t", partitions: 2 } },
        replicas: { min: 1, max: 4 },
      },
      /replicas\.max must not exceed kafka\.topic\.partitions/,
    ));
  await t.step(
    "strimzi mode without the cluster",
    () =>
      rejects(
        "no-cluster",
        { topicProvisioning: { mode: "strimzi" } },
        /topicProvisioning\.strimzi/,
      ),
  );
  await t.step("missing image", async () => {
    const manifest = poolManifest(namespace, "no-image");
    delete (manifest["spec"] as Record<string, unknown>)["image"];
    await assert.rejects(applyObjects(access, manifest), /spec\.image: Required value|missing required field "image"/);
  });
  await t.step("partitions can only grow", async () => {
    const spec = (partitions: number) => ({
      kafka: { bootstrapServers: ["k:9092"], topic: { name: "t", partitions } },
    });
    await applyObjects(access, poolManifest(namespace, "grow", spec(6)));
    await rejects("grow", spec(3), /partitions can only grow/);
  });
});
