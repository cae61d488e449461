/**
 * `status.lag` from a real Kafka broker: the operator reads the pool's
 * consumer group lag when it can reach the brokers.
 */

import assert from "node:assert/strict";
import { createKafkaClient } from "../../src/kafka/mod.ts";
import { createKafkaLagReader } from "../../operator/reconcile/mod.ts";
import { kafkaBrokers, uniqueName } from "../env/services.ts";
import {
  applyObjects,
  createNamespace,
  eventually,
  getJson,
  installPoolCrd,
  newClient,
  poolManifest,
  sharedKube,
  startTestOperator,
} from "./operator_support.ts";

Deno.test("operator writes the consumer group's lag into status.lag", async () => {
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
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }] });
    await producer.send({
      topic,
      messages: Array.from({ length: 7 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
    });
    await applyObjects(
      access,
      poolManifest(namespace, "lagging", {
        kafka: {
          bootstrapServers: brokers,
          topic: { name: topic, partitions: 3 },
          consumerGroup: group,
        },
      }),
    );
    await eventually("status.lag to show the 7 unconsumed messages", async () => {
      const pool = await getJson(access, ["jwp", "lagging", "-n", namespace]);
      return (pool?.["status"] as { lag?: number } | undefined)?.lag === 7;
    });
    await producer.send({ topic, messages: [{ key: "k", value: "more" }] });
    await eventually("status.lag to follow new messages", async () => {
      const pool = await getJson(access, ["jwp", "lagging", "-n", namespace]);
      return (pool?.["status"] as { lag?: number } | undefined)?.lag === 8;
    });
    const printed = await getJson(access, ["jwp", "lagging", "-n", namespace]);
    assert.equal((printed?.["status"] as { lag?: number }).lag, 8);
  } finally {
    await operator.stop();
    await lag.close();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
    client.close();
  }
});
