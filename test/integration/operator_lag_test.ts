/**
 * `status.lag` from a real Kafka broker, read apart from reconciling: the
 * operator reads the pool's consumer-group lag when it can reach the
 * brokers; a cluster it cannot reach, or a lag read that never answers,
 * delays no reconcile and leaves no stale value.
 */

import assert from "node:assert/strict";
import { createKafkaClient } from "../../src/kafka/mod.ts";
import { createKafkaLagReader, type LagReader } from "../../operator/lag/mod.ts";
import type { KubeObject } from "../../operator/runtime/mod.ts";
import { kafkaBrokers, uniqueName } from "../env/services.ts";
import {
  applyObjects,
  condition,
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
import { startStandIns } from "./operator_stand_ins.ts";

const lagOf = (pool: KubeObject | undefined) =>
  (pool?.["status"] as { lag?: number } | undefined)?.lag;

Deno.test("operator writes the consumer group's lag into status.lag; unreachable brokers hold up nothing", async () => {
  const brokers = kafkaBrokers();
  const access = sharedKube();
  await installPoolCrd(access);
  const namespace = await createNamespace(access, "op-lag");
  const topic = uniqueName("op_lag_topic");
  const group = uniqueName("op_lag_group");
  const kafka = createKafkaClient({
    brokers,
    topic,
    clientId: "operator-lag-test",
    tls: { enabled: false },
  });
  const admin = kafka.admin();
  const producer = kafka.producer();
  await admin.connect();
  await producer.connect();
  const client = await newClient(access);
  const lag = createKafkaLagReader({ client });
  const operator = await startTestOperator({ client, namespace, lag, lagRefreshMs: 500 });
  const standIns = startStandIns(client, [namespace]);
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }] });
    await producer.send({
      topic,
      messages: Array.from({ length: 7 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
    });
    // A pool on a cluster nobody answers for (a non-routable address: connects time out).
    await applyObjects(
      access,
      poolManifest(namespace, "unreachable", {
        kafka: { bootstrapServers: ["10.255.255.1:9092"], topic: { name: topic, partitions: 3 } },
      }),
      poolManifest(namespace, "lagging", {
        kafka: {
          bootstrapServers: brokers,
          topic: { name: topic, partitions: 3 },
          consumerGroup: group,
        },
      }),
    );
    await eventually("status.lag to show the 7 unconsumed messages", async () => {
      return lagOf(await getJson(access, ["jwp", "lagging", "-n", namespace])) === 7;
    });
    await producer.send({ topic, messages: [{ key: "k", value: "more" }] });
    await eventually("status.lag to follow new messages", async () => {
      return lagOf(await getJson(access, ["jwp", "lagging", "-n", namespace])) === 8;
    });
    const ready = await observedPool(access, { namespace, name: "unreachable" }, {
      what: "the pool on unreachable brokers to be Ready regardless",
      until: (pool) => condition(pool, "Ready")?.status === "True",
    });
    assert.equal(lagOf(ready), undefined, "no lag is claimed for brokers nobody reached");
    const printed = await kubectl(access, ["get", "jwp", "lagging", "-n", namespace]);
    assert.match(printed, /\s8\s/, `the Lag column: ${printed}`);
  } finally {
    await standIns.stop();
    await operator.stop();
    await lag.close();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
    client.close();
  }
});

Deno.test("a lag read that never answers does not hold up reconciles", async () => {
  const access = sharedKube();
  await installPoolCrd(access);
  const namespace = await createNamespace(access, "op-lag-stuck");
  const client = await newClient(access);
  let reads = 0;
  // Answers only when the operator stops (as a read of a broker that swallows packets).
  const stuck: LagReader = {
    read: (_pool, signal) =>
      new Promise((_, reject) => {
        reads++;
        signal?.addEventListener("abort", () => reject(new Error("stopped")), { once: true });
      }),
    close: () => Promise.resolve(),
  };
  const operator = await startTestOperator({ client, namespace, lag: stuck, lagRefreshMs: 200 });
  const standIns = startStandIns(client, [namespace]);
  try {
    await applyObjects(access, poolManifest(namespace, "orders"));
    await observedPool(access, { namespace, name: "orders" }, {
      what: "the pool to be Ready while its lag read hangs",
      until: (pool) => condition(pool, "Ready")?.status === "True",
    });
    assert.ok(reads > 0, "the lag was asked for");
    const before = await getJson(access, ["deployment", "orders-worker", "-n", namespace]);
    await kubectl(access, ["delete", "deployment", "orders-worker", "-n", namespace]);
    await eventually("the deleted Deployment to come back", async () => {
      const after = await getJson(access, ["deployment", "orders-worker", "-n", namespace]);
      return after && after.metadata.uid !== before?.metadata.uid;
    });
  } finally {
    await standIns.stop();
    await operator.stop();
    client.close();
  }
});
