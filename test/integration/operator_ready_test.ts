/**
 * `Ready` summarizes the pool on a real API server: it is True only once the
 * Deployment is available, KEDA reports the ScaledObject ready and the topic
 * is ready, and a failing scaler (KEDA's `TriggerError`, an active fallback)
 * or unavailable workers turn it False, naming the part. The statuses of the
 * other controllers are written as they write them (see `operator_stand_ins.ts`).
 */

import assert from "node:assert/strict";
import { RESOURCES } from "../../operator/runtime/mod.ts";
import {
  applyObjects,
  condition,
  createNamespace,
  getJson,
  installPoolCrd,
  kubectl,
  newClient,
  observedPool,
  poolManifest,
  sharedKube,
  startTestOperator,
} from "./operator_support.ts";
import { kedaCondition, startStandIns, writeStatus } from "./operator_stand_ins.ts";

Deno.test("Ready is True only when topic, scaler and workers are, and names the part that is not", async () => {
  const access = sharedKube();
  await installPoolCrd(access);
  const namespace = await createNamespace(access, "op-ready");
  const client = await newClient(access);
  const operator = await startTestOperator({ client, namespace });
  const key = { namespace, name: "orders" };
  const settled = (what: string, until: (ready: ReturnType<typeof condition>) => boolean) =>
    observedPool(access, key, { what, until: (pool) => until(condition(pool, "Ready")) });
  let standIns: { stop(): Promise<void> } | undefined;
  try {
    await applyObjects(
      access,
      poolManifest(namespace, "orders", {
        replicas: { min: 0, max: 3 },
        scaling: { fallback: { replicas: 2 } },
      }),
    );
    const waiting = await settled("the first status", (ready) => ready !== undefined);
    assert.notEqual(condition(waiting, "Ready")?.status, "True", "nothing has reported yet");
    assert.equal(condition(waiting, "Ready")?.reason, "ScalerNotReady");
    assert.match(condition(waiting, "Ready")?.message ?? "", /WaitingForKeda.*also Available/);
    await assert.rejects(
      kubectl(access, [
        "wait",
        "--for=condition=Ready",
        "jwp/orders",
        "-n",
        namespace,
        "--timeout=1s",
      ]),
      "kubectl wait does not report success for a pool nobody runs",
    );

    standIns = startStandIns(client, [namespace]);
    const ready = await settled("Ready=True once all parts report", (r) => r?.status === "True");
    assert.equal(condition(ready, "Ready")?.reason, "PoolReady");
    await kubectl(access, ["wait", "--for=condition=Ready", "jwp/orders", "-n", namespace]);

    // KEDA's status for a scaler that cannot read the lag (a missing topic, bad credentials).
    const scaled = await getJson(access, ["scaledobject", "orders-scaler", "-n", namespace]);
    assert.ok(scaled);
    await writeStatus(client, RESOURCES.scaledObjects, scaled, {
      conditions: [kedaCondition("Ready", "False", "TriggerError")],
    });
    const failing = await settled(
      "Ready=False for the failing scaler",
      (r) => r?.status === "False",
    );
    assert.equal(condition(failing, "ScalerReady")?.status, "False");
    assert.equal(condition(failing, "Ready")?.reason, "ScalerNotReady");
    assert.match(condition(failing, "Ready")?.message ?? "", /TriggerError.*not working correctly/);

    // With a fallback configured (it is, in the ScaledObject) KEDA keeps Ready=True and raises
    // Fallback instead.
    assert.deepEqual((scaled["spec"] as { fallback?: unknown }).fallback, {
      replicas: 2,
      failureThreshold: 3,
      behavior: "static",
    });
    await writeStatus(client, RESOURCES.scaledObjects, scaled, {
      conditions: [
        kedaCondition("Ready", "True", "ScaledObjectReady"),
        kedaCondition("Fallback", "True", "FallbackExists"),
      ],
      health: { "s0-kafka-orders-jobs": { numberOfFailures: 5, status: "Failing" } },
    });
    const fallback = await observedPool(access, key, {
      what: "ScalerReady=False while the fallback holds",
      until: (pool) => condition(pool, "ScalerReady")?.reason === "FallbackActive",
    });
    assert.equal(condition(fallback, "Ready")?.status, "False");
    assert.match(condition(fallback, "ScalerReady")?.message ?? "", /failed 5 times in a row/);

    // The scaler recovers; the workers become unavailable.
    await writeStatus(client, RESOURCES.scaledObjects, scaled, {
      conditions: [kedaCondition("Ready", "True", "ScaledObjectReady")],
    });
    const deployment = await getJson(access, ["deployment", "orders-worker", "-n", namespace]);
    assert.ok(deployment);
    await writeStatus(client, RESOURCES.deployments, deployment, {
      replicas: 1,
      availableReplicas: 0,
      conditions: [{
        type: "Available",
        status: "False",
        reason: "MinimumReplicasUnavailable",
        message: "Deployment does not have minimum availability.",
        lastUpdateTime: "2026-01-01T00:00:00Z",
        lastTransitionTime: "2026-01-01T00:00:00Z",
      }],
    });
    const down = await observedPool(access, key, {
      what: "Ready=False for unavailable workers",
      until: (pool) => condition(pool, "Ready")?.reason === "WorkersNotAvailable",
    });
    assert.equal(condition(down, "Ready")?.status, "False");
    assert.equal(condition(down, "ScalerReady")?.status, "True");
  } finally {
    await standIns?.stop();
    await operator.stop();
    client.close();
  }
});
