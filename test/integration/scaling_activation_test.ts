/**
 * Issue 10, point 2, on the real loop: a pool with `replicas.min: 0` runs no
 * worker while there is no work — not even briefly after it is created — a
 * lag at or below `activationLagThreshold` does not wake it, a lag above it
 * does, and after the cooldown it goes back to zero.
 *
 * @module
 */

import assert from "node:assert/strict";
import { eventually } from "./operator_support.ts";
import { createPool, getObject, openScalingStack, poolManifest } from "./scaling_stack.ts";

const POLLING_SECONDS = 1;

Deno.test({
  name: "a min-0 pool runs no pod while idle, from its creation on, and wakes above activation",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using stack = await openScalingStack({ prefix: "scaling_activation", partitions: 3 });
    await createPool(
      stack,
      poolManifest(stack, "idle", {
        spec: {
          kafka: { topic: { name: stack.topic, partitions: 3 } },
          replicas: { min: 0, max: 3 },
          pool: { min: 1, max: 2 },
          scaling: {
            lagThreshold: 10,
            activationLagThreshold: 5,
            pollingInterval: POLLING_SECONDS,
            cooldownPeriod: 5,
          },
        },
      }),
    );
    const replicasNow = async () =>
      ((await getObject(stack, "deployment/idle-worker"))?.["spec"] as { replicas?: number })
        ?.replicas;

    await t.step("idle after creation: the Deployment never asked for a pod", async () => {
      await eventually("KEDA to poll the idle pool's lag", async () => {
        const metric = await stack.kedaMetric();
        return metric?.value === 0 && !metric.active;
      }, 120_000);
      await eventually(
        "KEDA's HPA for the pool",
        () => getObject(stack, "hpa/keda-hpa-idle-scaler"),
      );
      assert.ok(stack.replicaHistory.length > 0, "the Deployment was never seen");
      const asked = stack.replicaHistory.filter((sample) => sample.replicas > 0);
      assert.deepEqual(asked, [], "the Deployment asked for replicas while idle");
      assert.deepEqual(stack.node?.events(), [], "a worker pod ran while idle");
    });

    await t.step("a lag at the activation threshold does not wake it", async () => {
      const before = stack.node!.events().length;
      await stack.produce(5);
      await eventually("KEDA to see a lag of 5", async () => {
        const metric = await stack.kedaMetric();
        return metric?.value === 5 && !metric.active;
      }, 120_000);
      // A few more polls decide the same; nothing may start meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 3 * POLLING_SECONDS * 1_000));
      assert.equal(await replicasNow(), 0);
      assert.deepEqual(stack.node!.events().slice(before), [], "a worker pod ran below activation");
    });

    await t.step("a lag above it wakes the pool, which drains it and returns to zero", async () => {
      const before = stack.node!.events().length;
      const ids = await stack.produce(20);
      await eventually(
        "a worker to start",
        () => Promise.resolve(stack.node!.events().length > before),
        120_000,
      );
      await eventually("the 25 jobs to be done and committed", async () => {
        const { effects } = await stack.effects();
        return effects.size === 25 && await stack.lag() === 0;
      }, 180_000);
      await eventually(
        "the pool to return to zero replicas after the cooldown",
        async () => await replicasNow() === 0 && stack.node!.running().length === 0,
        180_000,
      );
      const { effects } = await stack.effects();
      for (const id of ids) assert.ok(effects.has(id), `job ${id} took no effect`);
      assert.deepEqual(stack.node?.crashes(), []);
    });
  },
});
