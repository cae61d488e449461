/**
 * Issue 10, point 3 (first part), on real KEDA and the HPA controller: with
 * `allowIdleConsumers: false` a backlog never raises the replicas above the
 * topic's real partition count, even when the pool declares more partitions
 * and a higher `replicas.max` (KEDA caps the lag it reports at partitions ×
 * lagThreshold). No node runs: the backlog stays, and so does the pressure.
 *
 * @module
 */

import assert from "node:assert/strict";
import { eventually } from "./operator_support.ts";
import { replicaSteps } from "./scaling_cycle.ts";
import { createPool, getObject, openScalingStack, poolManifest } from "./scaling_stack.ts";

const PARTITIONS = 3;
const LAG_THRESHOLD = 5;

Deno.test({
  name: "allowIdleConsumers false: a 60× backlog on 3 partitions stops the replicas at 3",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using stack = await openScalingStack({
      prefix: "scaling_limits",
      partitions: PARTITIONS,
      node: false,
    });
    await stack.produce(60 * LAG_THRESHOLD);
    await createPool(
      stack,
      poolManifest(stack, "capped", {
        spec: {
          // The pool believes in 12 partitions; the topic has 3.
          kafka: { topic: { name: stack.topic, partitions: 12 } },
          replicas: { min: 1, max: 6 },
          scaling: {
            lagThreshold: LAG_THRESHOLD,
            pollingInterval: 1,
            allowIdleConsumers: false,
          },
        },
      }),
    );
    const metric = await eventually("KEDA to report the capped lag", async () => {
      const found = await stack.kedaMetric();
      return found && found.value > 0 ? found : undefined;
    }, 120_000);
    assert.equal(metric.value, PARTITIONS * LAG_THRESHOLD, "KEDA did not cap the lag");
    await eventually("the HPA to settle at 3 replicas", async () => {
      const hpa = await getObject(stack, "hpa/keda-hpa-capped-scaler");
      const status = hpa?.["status"] as { desiredReplicas?: number; currentReplicas?: number };
      return status?.desiredReplicas === PARTITIONS && status.currentReplicas === PARTITIONS;
    }, 120_000);
    // A few more polls and HPA syncs see the same backlog.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const steps = replicaSteps(stack.replicaHistory);
    assert.equal(Math.max(...steps), PARTITIONS, `replicas went ${steps.join(" → ")}`);
  },
});
