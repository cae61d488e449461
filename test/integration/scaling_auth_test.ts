/**
 * Issue 10, point 3 (second part), on real KEDA: the TriggerAuthentication
 * the operator writes lets KEDA read the lag through the broker's
 * SASL/SCRAM listener, and through its TLS listener with the CA from a
 * Secret. Each pool starts at zero replicas, so only KEDA's reading of the
 * lag can wake it; the workers then consume with the same Secret.
 *
 * @module
 */

import assert from "node:assert/strict";
import { kafkaSasl, kafkaTls } from "../env/services.ts";
import { condition, eventually } from "./operator_support.ts";
import {
  createPool,
  createSecret,
  getObject,
  openScalingStack,
  poolManifest,
  type ScalingStack,
} from "./scaling_stack.ts";

/** Creates a min-0 pool with `kafka`, backs it up with 20 jobs, waits for them to drain. */
async function wakeAndDrain(stack: ScalingStack, kafka: Record<string, unknown>): Promise<void> {
  await createPool(
    stack,
    poolManifest(stack, "secure", {
      spec: {
        kafka: { topic: { name: stack.topic, partitions: 2 }, ...kafka },
        replicas: { min: 0, max: 2 },
        pool: { min: 1, max: 2 },
        scaling: { lagThreshold: 5, pollingInterval: 1, cooldownPeriod: 5 },
      },
    }),
  );
  const auth = await eventually(
    "the operator's TriggerAuthentication",
    () => getObject(stack, "triggerauthentication/secure-kafka-auth"),
  );
  assert.ok(auth, "no TriggerAuthentication");
  const ids = await stack.produce(20);
  await eventually("KEDA to read the lag and wake the pool", async () => {
    const metric = await stack.kedaMetric();
    return metric?.active === true && metric.value > 0 && stack.node!.events().length > 0;
  }, 120_000);
  await eventually("the 20 jobs to be done and committed", async () => {
    const { effects } = await stack.effects();
    return ids.every((id) => effects.has(id)) && await stack.lag() === 0;
  }, 180_000);
  const pool = await getObject(stack, "jwp/secure");
  assert.equal(condition(pool, "ScalerReady")?.status, "True", JSON.stringify(pool?.["status"]));
  assert.deepEqual(stack.node?.crashes(), [], "a worker exited: it could not reach Kafka");
}

Deno.test({
  name: "KEDA reads the lag over SASL/SCRAM-SHA-512 through the operator's TriggerAuthentication",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using stack = await openScalingStack({ prefix: "scaling_sasl", partitions: 2 });
    const sasl = kafkaSasl();
    await createSecret(stack, "kafka-user", { username: sasl.username, password: sasl.password });
    await wakeAndDrain(stack, {
      bootstrapServers: sasl.brokers,
      sasl: { mechanism: "scram-sha-512", secretRef: { name: "kafka-user" } },
    });
  },
});

Deno.test({
  name: "KEDA reads the lag over TLS, verifying the broker with the CA from a Secret",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using stack = await openScalingStack({ prefix: "scaling_tls", partitions: 2 });
    const tls = kafkaTls();
    await createSecret(stack, "kafka-ca", { "ca.crt": tls.caPem });
    await wakeAndDrain(stack, {
      bootstrapServers: tls.brokers,
      tls: { enabled: true, caSecretRef: { name: "kafka-ca" } },
    });
  },
});
