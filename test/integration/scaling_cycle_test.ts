/**
 * Issue 10, points 1 and 5, on the real loop (KEDA, the HPA controller, the
 * Deployment and ReplicaSet controllers, a node running worker processes):
 * a backlog scales the pool to its maximum, the workers drain it without
 * losing or repeating a job, the replicas return to the minimum, and neither
 * the replicas nor the in-process pools oscillate on the way.
 *
 * @module
 */

import assert from "node:assert/strict";
import { repeats, replicaSteps, reversals, runScaleCycle } from "./scaling_cycle.ts";
import { openScalingStack } from "./scaling_stack.ts";

Deno.test({
  name: "a backlog of 100× lagThreshold scales 1 → 6 replicas, every job takes effect, back to 1",
  // kafkajs keeps timers and sockets past disconnect(); they are not ours to police.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using stack = await openScalingStack({ prefix: "scaling_cycle", partitions: 12 });
    const cycle = await runScaleCycle(stack);
    const { replicas, pool } = cycle.settings;
    const steps = replicaSteps(cycle.replicaChanges);
    console.log(
      `replicas ${steps.join(" → ")}; max at ${cycle.seconds.maxReplicas} s, drained at ` +
        `${cycle.seconds.drained} s, back at ${replicas.min} at ${cycle.seconds.backAtMin} s; ` +
        `pool resizes per process: ${cycle.resizes.map((r) => r.length).join(", ")}`,
    );

    await t.step("the replicas rose to the maximum and never above it", () => {
      assert.equal(Math.max(...steps), replicas.max);
      assert.ok(cycle.replicaChanges.every((s) => s.ready <= replicas.max));
    });

    await t.step("every job took effect exactly once across the scale events", () => {
      assert.deepEqual(cycle.effects, new Set(cycle.ids), "an effect is missing or unexpected");
      assert.deepEqual(stack.node?.crashes(), [], "a worker process exited on its own");
      // Work is at least once: a rebalance hands a partition on from its last
      // commit, so jobs finished past an unfinished one run again (and the
      // idempotent handler absorbs them). Counted, not forbidden.
      console.log(
        `${repeats(cycle.deliveries)} of ${cycle.ids.length} jobs ran again after a rebalance`,
      );
    });

    await t.step("the replicas returned to the minimum after the cooldown", () => {
      assert.equal(steps.at(-1), replicas.min);
    });

    await t.step("replicas rose, then fell, in few steps (no oscillation)", () => {
      assert.equal(reversals(steps), 1, `replicas went ${steps.join(" → ")}`);
      // Up in at most log2(max) doublings (the HPA at least doubles per step), down in a few.
      assert.ok(steps.length - 1 <= 6, `${steps.length - 1} replica changes: ${steps.join(" → ")}`);
    });

    await t.step("each in-process pool resized in few steps, without flapping", () => {
      for (const resizes of cycle.resizes) {
        const sizes = [resizes[0]?.[0] ?? pool.max, ...resizes.map(([, to]) => to)];
        // Idle shrink, growth for the backlog, shrink after it: at most two turns.
        assert.ok(reversals(sizes) <= 2, `pool sizes ${sizes.join(" → ")}`);
        assert.ok(
          resizes.length <= 3 * (pool.max - pool.min),
          `${resizes.length} resizes: ${sizes.join(" → ")}`,
        );
      }
    });
  },
});
