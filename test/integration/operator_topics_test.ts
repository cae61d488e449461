/**
 * KafkaTopics between pools, on a real API server with Strimzi's CRD (the
 * stand-ins report topics ready): a pool waiting for a topic another pool
 * owns is woken the moment that pool goes (resync is off, so only the pool
 * informer's events can do it) and adopts the topic; a pool that declares a
 * topic exactly like its owner shares it; a pool whose topic is renamed
 * applies its deletion policy to the KafkaTopic it leaves behind, with an
 * Event.
 */

import assert from "node:assert/strict";
import type { KubeObject } from "../../operator/runtime/mod.ts";
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

const ready = (pool: KubeObject) => condition(pool, "Ready")?.status === "True";

/** A Strimzi-mode pool on topic `topic` with `partitions`, deletionPolicy `policy`. */
function topicPool(
  namespace: string,
  name: string,
  topic: { name: string; partitions: number; policy?: "Delete" | "Retain" },
) {
  return poolManifest(namespace, name, {
    kafka: {
      bootstrapServers: ["kafka-0.kafka:9092"],
      topic: { name: topic.name, partitions: topic.partitions },
    },
    topicProvisioning: {
      mode: "strimzi",
      strimzi: { clusterName: "events", deletionPolicy: topic.policy ?? "Retain" },
    },
  });
}

async function eventReasons(
  access: ReturnType<typeof sharedKube>,
  namespace: string,
  name: string,
): Promise<string[]> {
  const events = await kubectl(access, [
    "get",
    "events",
    "-n",
    namespace,
    "--field-selector",
    `involvedObject.name=${name}`,
    "-o",
    "json",
  ]);
  return (JSON.parse(events) as { items: KubeObject[] }).items.map((e) => String(e["reason"]));
}

Deno.test("a topic passes to the pool waiting for it; pools declaring it alike share it", async () => {
  const access = sharedKube();
  await installPoolCrd(access);
  const namespace = await createNamespace(access, "op-topic-share");
  const client = await newClient(access);
  const operator = await startTestOperator({
    client,
    namespace,
    resyncPeriodMs: 3_600_000,
    watchdogMs: 90_000,
  });
  const standIns = startStandIns(client, [namespace]);
  const settled = (name: string, what: string, until: (pool: KubeObject) => boolean) =>
    observedPool(access, { namespace, name }, { what: `${name}: ${what}`, until });
  const topicOwner = async () =>
    (await getJson(access, ["kafkatopic", "orders-jobs", "-n", namespace]))?.metadata.labels
      ?.["jobpool.dev/pool-name"];
  try {
    await applyObjects(
      access,
      topicPool(namespace, "owner", { name: "orders-jobs", partitions: 6 }),
    );
    await settled("owner", "Ready", ready);

    // Another pool wants the topic with 12 partitions: it waits.
    await applyObjects(
      access,
      topicPool(namespace, "waiter", { name: "orders-jobs", partitions: 12 }),
    );
    const waiting = await settled(
      "waiter",
      "blocked by the owner",
      (p) => condition(p, "Ready")?.reason === "TopicOwnedByAnotherPool",
    );
    assert.match(
      condition(waiting, "Ready")?.message ?? "",
      /belongs to JobWorkerPool .*\/owner, which declares it differently \(partitions: theirs 6, this pool's 12\)/,
    );

    // The owner goes (Retain): the waiter is woken at once and adopts the topic.
    await kubectl(access, ["delete", "jwp", "owner", "-n", namespace, "--wait=false"]);
    await settled("waiter", "Ready after adopting the topic", ready);
    assert.equal(await topicOwner(), "waiter");
    const topic = await getJson(access, ["kafkatopic", "orders-jobs", "-n", namespace]);
    assert.equal((topic?.["spec"] as { partitions?: number }).partitions, 12);

    // A third pool declares the topic exactly like its owner: it shares it.
    await applyObjects(
      access,
      topicPool(namespace, "sharer", { name: "orders-jobs", partitions: 12 }),
    );
    const sharing = await settled("sharer", "Ready, sharing the topic", ready);
    assert.match(
      condition(sharing, "TopicReady")?.message ?? "",
      /shared with JobWorkerPool .*\/waiter/,
    );
    assert.equal(await topicOwner(), "waiter", "a sharer does not take the topic over");

    // The owner goes again: the sharer takes the topic on.
    await kubectl(access, ["delete", "jwp", "waiter", "-n", namespace, "--wait=false"]);
    await eventually("the sharer to adopt the topic", async () => await topicOwner() === "sharer");
    await settled("sharer", "still Ready", ready);
  } finally {
    await standIns.stop();
    await operator.stop();
    client.close();
  }
});

Deno.test("a renamed topic's old KafkaTopic is deleted (Delete) or kept and released (Retain)", async () => {
  const access = sharedKube();
  await installPoolCrd(access);
  const namespace = await createNamespace(access, "op-topic-rename");
  const client = await newClient(access);
  const operator = await startTestOperator({ client, namespace });
  const topic = (name: string) => getJson(access, ["kafkatopic", name, "-n", namespace]);
  try {
    await applyObjects(
      access,
      topicPool(namespace, "deleter", { name: "first-jobs", partitions: 6, policy: "Delete" }),
      topicPool(namespace, "keeper", { name: "kept-jobs", partitions: 6 }),
    );
    await eventually(
      "both topics",
      async () => !!(await topic("first-jobs")) && !!(await topic("kept-jobs")),
    );

    await applyObjects(
      access,
      topicPool(namespace, "deleter", { name: "second-jobs", partitions: 6, policy: "Delete" }),
      topicPool(namespace, "keeper", { name: "kept-next-jobs", partitions: 6 }),
    );
    await eventually(
      "the new topics",
      async () => !!(await topic("second-jobs")) && !!(await topic("kept-next-jobs")),
    );
    await eventually(
      "the deleter's old topic to be deleted",
      async () => (await topic("first-jobs")) === undefined,
    );
    const kept = await eventually("the keeper's old topic to be released", async () => {
      const old = await topic("kept-jobs");
      return old && old.metadata.labels?.["jobpool.dev/pool-uid"] === undefined ? old : undefined;
    });
    assert.equal(kept.metadata.labels?.["jobpool.dev/pool-name"], "keeper");
    await eventually(
      "the Events",
      async () =>
        (await eventReasons(access, namespace, "deleter")).includes("TopicDeleted") &&
        (await eventReasons(access, namespace, "keeper")).includes("TopicLeftBehind"),
    );
  } finally {
    await operator.stop();
    client.close();
  }
});
