/**
 * Replicas on a real API server: the worker Deployment is created with
 * `spec.replicas` = `replicas.min` (a pool that may idle at zero never runs a
 * first pod before KEDA has looked at the lag), server-side apply never owns
 * the field, so the HPA's count survives every later reconcile; with
 * `scaling.mode: none` the operator keeps the fixed count.
 */

import assert from "node:assert/strict";
import { RESOURCES } from "../../operator/runtime/mod.ts";
import {
  applyObjects,
  createNamespace,
  eventually,
  getJson,
  installPoolCrd,
  kubectl,
  newClient,
  observedPool,
  poolManifest,
  sharedKube,
  startTestOperator,
} from "./operator_support.ts";

type Json = Record<string, unknown>;
const replicasOf = (deployment: Json | undefined) =>
  (deployment?.["spec"] as { replicas?: number } | undefined)?.replicas;
const imageOf = (
  deployment: Json | undefined,
) => ((deployment?.["spec"] as { template: { spec: { containers: Json[] } } } | undefined)?.template
  .spec.containers[0]?.["image"]);

Deno.test("the Deployment starts at replicas.min; the HPA owns replicas after that", async () => {
  const access = sharedKube();
  await installPoolCrd(access);
  const namespace = await createNamespace(access, "op-replicas");
  const client = await newClient(access);
  const operator = await startTestOperator({ client, namespace });
  const deployment = (name: string) =>
    getJson(access, ["deployment", `${name}-worker`, "-n", namespace]);
  try {
    await applyObjects(access, poolManifest(namespace, "idle", { replicas: { min: 0, max: 3 } }));
    await observedPool(access, { namespace, name: "idle" });
    const created = await deployment("idle");
    assert.equal(replicasOf(created), 0, "no first pod for a pool that may idle at zero");

    // Server-side apply does not own spec.replicas: only the create set it.
    const live = await client.get(RESOURCES.deployments, { namespace, name: "idle-worker" });
    const managed = live?.metadata.managedFields as Array<
      { manager: string; operation: string; fieldsV1?: { "f:spec"?: Record<string, unknown> } }
    >;
    const applied = managed.find((m) =>
      m.operation === "Apply" && m.manager === "jobpool-operator"
    );
    assert.ok(applied?.fieldsV1?.["f:spec"], "the operator applies the spec");
    assert.equal("f:replicas" in (applied?.fieldsV1?.["f:spec"] ?? {}), false);

    // KEDA's HPA scales the Deployment (through the scale subresource, as kube-controller-manager).
    await kubectl(access, ["scale", "deployment", "idle-worker", "-n", namespace, "--replicas=3"]);
    // A spec change makes the operator apply the Deployment again: the HPA's count stays.
    await applyObjects(
      access,
      poolManifest(namespace, "idle", {
        image: "ghcr.io/example/jobpool-worker:2.0.0",
        replicas: { min: 0, max: 3 },
      }),
    );
    const updated = await eventually("the new image", async () => {
      const d = await deployment("idle");
      return imageOf(d) === "ghcr.io/example/jobpool-worker:2.0.0" ? d : undefined;
    });
    assert.equal(replicasOf(updated), 3, "the operator did not reset the HPA's replicas");

    // Without a scaler the operator owns the count and keeps it.
    await applyObjects(
      access,
      poolManifest(namespace, "fixed", { replicas: { min: 2, max: 2 }, scaling: { mode: "none" } }),
    );
    await observedPool(access, { namespace, name: "fixed" });
    assert.equal(replicasOf(await deployment("fixed")), 2);
    assert.equal(
      await getJson(access, ["scaledobject", "fixed-scaler", "-n", namespace]),
      undefined,
    );
    await applyObjects(
      access,
      poolManifest(namespace, "fixed", { replicas: { min: 3, max: 3 }, scaling: { mode: "none" } }),
    );
    await eventually("the fixed count to follow the spec", async () => {
      return replicasOf(await deployment("fixed")) === 3;
    });
  } finally {
    await operator.stop();
    client.close();
  }
});
