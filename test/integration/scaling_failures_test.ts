/**
 * Issue 10, point 4, on real KEDA and the HPA controller: a scaler that
 * cannot read the lag shows on the pool (`ScalerReady` False, and the pool
 * not `Ready`); where `scaling.fallback` is set and KEDA has an HPA, it holds
 * `fallback.replicas` while the scaler keeps failing. Credentials refused
 * from the start keep KEDA from creating the HPA at all (KEDA 2.20 connects
 * before it does), so there the fallback cannot act: the test pins that down.
 * No node runs: what matters is what KEDA, the HPA and the operator say and
 * ask for.
 *
 * @module
 */

import assert from "node:assert/strict";
import { kafkaSasl } from "../env/services.ts";
import { condition, eventually } from "./operator_support.ts";
import {
  createPool,
  createSecret,
  getObject,
  openScalingStack,
  poolManifest,
} from "./scaling_stack.ts";

Deno.test({
  name:
    "a min-0 pool whose topic does not exist shows ScalerReady=False, is not Ready, runs nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // partitions 0: the topic is never created.
    await using stack = await openScalingStack({
      prefix: "scaling_no_topic",
      partitions: 0,
      node: false,
    });
    await createPool(
      stack,
      poolManifest(stack, "orphan", {
        spec: {
          kafka: { topic: { name: stack.topic, partitions: 3 } },
          replicas: { min: 0, max: 3 },
          scaling: { lagThreshold: 5, pollingInterval: 1, cooldownPeriod: 5 },
        },
      }),
    );
    // KEDA's answer for a trigger that cannot read the lag (not an earlier, passing complaint).
    const scaler = await eventually("KEDA to report the failing trigger", async () => {
      const object = await getObject(stack, "scaledobject/orphan-scaler");
      const ready = condition(object, "Ready");
      return ready?.status === "False" && ready.reason === "TriggerError" ? ready : undefined;
    }, 120_000);
    const pool = await eventually("the pool to show the failing trigger", async () => {
      const found = await getObject(stack, "jwp/orphan");
      const shown = condition(found, "ScalerReady");
      return shown?.status === "False" && shown.message.includes("TriggerError")
        ? found
        : undefined;
    }, 120_000);
    console.log(`KEDA: ${scaler.reason}: ${scaler.message}`);
    console.log(`pool ScalerReady: ${condition(pool, "ScalerReady")?.message}`);
    assert.notEqual(condition(pool, "Ready")?.status, "True", "Ready=True with a failing scaler");
    const asked = stack.replicaHistory.filter((sample) => sample.replicas > 0);
    assert.deepEqual(asked, [], "the Deployment asked for replicas of a min-0 pool");
  },
});

Deno.test({
  name:
    "a min-1 pool whose topic does not exist: KEDA's fallback holds 3 replicas, the pool says so",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using stack = await openScalingStack({
      prefix: "scaling_fallback",
      partitions: 0,
      node: false,
    });
    await createPool(
      stack,
      poolManifest(stack, "fallback", {
        spec: {
          kafka: { topic: { name: stack.topic, partitions: 6 } },
          replicas: { min: 1, max: 6 },
          scaling: {
            lagThreshold: 5,
            pollingInterval: 1,
            fallback: { failureThreshold: 2, replicas: 3 },
          },
        },
      }),
    );
    await eventually("the HPA to hold the fallback's 3 replicas", async () => {
      const deployment = await getObject(stack, "deployment/fallback-worker");
      return (deployment?.["spec"] as { replicas?: number })?.replicas === 3;
    }, 120_000);
    const pool = await eventually("the pool to show the fallback", async () => {
      const found = await getObject(stack, "jwp/fallback");
      return condition(found, "ScalerReady")?.status === "False" ? found : undefined;
    }, 120_000);
    console.log(`pool ScalerReady: ${condition(pool, "ScalerReady")?.reason}`);
    assert.notEqual(condition(pool, "Ready")?.status, "True", "Ready=True with a failing scaler");
    assert.ok(
      stack.replicaHistory.every((sample) => sample.replicas <= 3),
      "the replicas went past the fallback",
    );
  },
});

Deno.test({
  name: "wrong Kafka credentials from the start: the pool shows it; no HPA, so no fallback either",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using stack = await openScalingStack({
      prefix: "scaling_bad_auth",
      partitions: 6,
      node: false,
    });
    const sasl = kafkaSasl();
    await createSecret(stack, "kafka-user", { username: sasl.username, password: "wrong" });
    await createPool(
      stack,
      poolManifest(stack, "locked-out", {
        spec: {
          kafka: {
            topic: { name: stack.topic, partitions: 6 },
            bootstrapServers: sasl.brokers,
            sasl: { mechanism: "scram-sha-256", secretRef: { name: "kafka-user" } },
          },
          replicas: { min: 1, max: 6 },
          scaling: {
            lagThreshold: 5,
            pollingInterval: 1,
            fallback: { failureThreshold: 2, replicas: 3 },
          },
        },
      }),
    );
    await stack.produce(100);
    const pool = await eventually("the pool to show the failing scaler", async () => {
      const found = await getObject(stack, "jwp/locked-out");
      return condition(found, "ScalerReady")?.status === "False" ? found : undefined;
    }, 120_000);
    const scaler = condition(pool, "ScalerReady")!;
    console.log(`pool ScalerReady: ${scaler.reason}: ${scaler.message}`);
    assert.notEqual(condition(pool, "Ready")?.status, "True", "Ready=True with a failing scaler");
    // KEDA 2.20 builds the Kafka client before it creates the HPA: with credentials refused
    // from the start there is no HPA, so neither the lag nor the fallback moves the replicas.
    assert.equal(await getObject(stack, "hpa/keda-hpa-locked-out-scaler"), undefined);
    assert.ok(stack.replicaHistory.every((sample) => sample.replicas === 1));
  },
});
