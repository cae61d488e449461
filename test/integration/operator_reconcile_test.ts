/**
 * The reconciler against a real kube-apiserver: generated objects, updates,
 * status, drift correction, finalizer cleanup, consumer-group conflicts.
 */

import assert from "node:assert/strict";
import { type KubeObject, RESOURCES } from "../../operator/runtime/mod.ts";
import {
  applyObjects,
  condition,
  createNamespace,
  eventually,
  getJson,
  installPoolCrd,
  isObserved,
  kubectl,
  newClient,
  observedPool,
  poolManifest,
  sharedKube,
  startTestOperator,
} from "./operator_support.ts";
import { type StandIns, startStandIns } from "./operator_stand_ins.ts";

type Json = Record<string, unknown>;
const field = (object: unknown, path: string): unknown =>
  path.split(".").reduce<unknown>((value, key) => (value as Json | undefined)?.[key], object);

Deno.test("operator reconciles JobWorkerPools on a real API server", async (t) => {
  const access = sharedKube();
  await installPoolCrd(access);
  const namespace = await createNamespace(access, "op-rec");
  const client = await newClient(access);
  const operator = await startTestOperator({ client, namespace });
  let standIns: StandIns | undefined;
  try {
    await t.step(
      "create → Deployment, ScaledObject, KafkaTopic with the expected fields",
      async () => {
        await applyObjects(
          access,
          poolManifest(namespace, "mailer", {
            topicProvisioning: {
              mode: "strimzi",
              strimzi: { clusterName: "events", deletionPolicy: "Delete" },
            },
          }),
        );
        const pool = await observedPool(access, { namespace, name: "mailer" });
        assert.ok(pool.metadata.finalizers?.includes("jobpool.dev/topic-cleanup"));
        assert.equal(condition(pool, "Ready")?.status, "Unknown", "nothing reported yet");
        assert.equal(condition(pool, "Ready")?.reason, "TopicNotReady");
        assert.equal(condition(pool, "ScalerReady")?.status, "Unknown", "no KEDA reports here");
        assert.equal(condition(pool, "ScalerReady")?.reason, "WaitingForKeda");
        assert.equal(condition(pool, "TopicReady")?.reason, "WaitingForTopicOperator");
        assert.equal(condition(pool, "Available")?.status, "Unknown");
        assert.equal(field(pool, "status.consumerGroup"), `jobpool.${namespace}.mailer`);

        const deployment = await getJson(access, ["deployment", "mailer-worker", "-n", namespace]);
        assert.ok(deployment, "the worker Deployment exists");
        const owner = deployment.metadata.ownerReferences?.[0];
        assert.equal(owner?.kind, "JobWorkerPool");
        assert.equal(owner?.uid, pool.metadata.uid);
        assert.equal(owner?.controller, true);
        const container = (field(deployment, "spec.template.spec.containers") as Json[])[0];
        assert.equal(container?.["image"], "ghcr.io/example/jobpool-worker:1.0.0");
        const live = await client.get(RESOURCES.deployments, { namespace, name: "mailer-worker" });
        const managers =
          (live?.metadata.managedFields as Array<{ manager: string; operation: string }>)
            .filter((m) => m.operation === "Apply").map((m) => m.manager);
        assert.deepEqual(managers, ["jobpool-operator"]);

        const scaled = await getJson(access, ["scaledobject", "mailer-scaler", "-n", namespace]);
        assert.ok(scaled, "the ScaledObject exists");
        assert.equal(field(scaled, "spec.scaleTargetRef.name"), "mailer-worker");
        assert.equal(field(scaled, "spec.maxReplicaCount"), 3);
        const trigger = (field(scaled, "spec.triggers") as Json[])[0];
        assert.equal(trigger?.["type"], "kafka");
        assert.equal(field(trigger, "metadata.topic"), "mailer-jobs");
        assert.equal(field(trigger, "metadata.consumerGroup"), `jobpool.${namespace}.mailer`);
        assert.equal(scaled.metadata.ownerReferences?.[0]?.uid, pool.metadata.uid);
        assert.equal(
          field(deployment, "spec.replicas") !== undefined,
          true,
          "defaulted by the API",
        );

        const topic = await getJson(access, ["kafkatopic", "mailer-jobs", "-n", namespace]);
        assert.ok(topic, "the KafkaTopic exists");
        assert.equal(topic.metadata.labels?.["strimzi.io/cluster"], "events");
        assert.equal(topic.metadata.labels?.["jobpool.dev/pool-uid"], pool.metadata.uid);
        assert.equal(topic.metadata.labels?.["jobpool.dev/pool-name"], "mailer");
        assert.equal(field(topic, "spec.partitions"), 6);

        // From here on, stand-ins report what the other controllers would.
        standIns = startStandIns(client, [namespace]);
        await observedPool(access, { namespace, name: "mailer" }, {
          what: "mailer to be Ready once its parts report",
          until: (pool) => condition(pool, "Ready")?.status === "True",
        });
      },
    );

    await t.step("update → the generated objects follow, observedGeneration advances", async () => {
      await applyObjects(
        access,
        poolManifest(namespace, "mailer", {
          image: "ghcr.io/example/jobpool-worker:2.0.0",
          replicas: { min: 2, max: 5 },
          kafka: {
            bootstrapServers: ["kafka-0.kafka:9092"],
            topic: { name: "mailer-jobs", partitions: 8 },
          },
          topicProvisioning: {
            mode: "strimzi",
            strimzi: { clusterName: "events", deletionPolicy: "Delete" },
          },
        }),
      );
      await eventually("the Deployment to run the new image", async () => {
        const deployment = await getJson(access, ["deployment", "mailer-worker", "-n", namespace]);
        const container = (field(deployment, "spec.template.spec.containers") as Json[])[0];
        return container?.["image"] === "ghcr.io/example/jobpool-worker:2.0.0";
      });
      await eventually("the ScaledObject to follow replicas", async () => {
        const scaled = await getJson(access, ["scaledobject", "mailer-scaler", "-n", namespace]);
        return field(scaled, "spec.maxReplicaCount") === 5 &&
          field(scaled, "spec.minReplicaCount") === 2;
      });
      await eventually("the KafkaTopic to grow", async () => {
        const topic = await getJson(access, ["kafkatopic", "mailer-jobs", "-n", namespace]);
        return field(topic, "spec.partitions") === 8;
      });
      const pool = await observedPool(access, { namespace, name: "mailer" }, {
        what: "generation 2 to be observed",
        until: (pool) => pool.metadata.generation === 2,
      });
      assert.equal(condition(pool, "Ready")?.status, "True");
    });

    await t.step("deleting or editing a generated object is undone", async () => {
      const before = await getJson(access, ["deployment", "mailer-worker", "-n", namespace]);
      await kubectl(access, ["delete", "deployment", "mailer-worker", "-n", namespace]);
      await eventually("the Deployment to come back", async () => {
        const after = await getJson(access, ["deployment", "mailer-worker", "-n", namespace]);
        return after && after.metadata.uid !== before?.metadata.uid;
      });
      await kubectl(access, [
        "patch",
        "scaledobject",
        "mailer-scaler",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        JSON.stringify({ spec: { maxReplicaCount: 42 } }),
      ]);
      await eventually("the ScaledObject edit to be reverted", async () => {
        const scaled = await getJson(access, ["scaledobject", "mailer-scaler", "-n", namespace]);
        return field(scaled, "spec.maxReplicaCount") === 5;
      });
      await kubectl(access, ["delete", "kafkatopic", "mailer-jobs", "-n", namespace]);
      await eventually(
        "the KafkaTopic to come back",
        async () => await getJson(access, ["kafkatopic", "mailer-jobs", "-n", namespace]),
      );
    });

    await t.step(
      "deletion with deletionPolicy Delete removes the KafkaTopic, then the pool",
      async () => {
        await kubectl(access, ["delete", "jwp", "mailer", "-n", namespace, "--wait=false"]);
        await eventually(
          "the pool to be gone",
          async () => (await getJson(access, ["jwp", "mailer", "-n", namespace])) === undefined,
        );
        assert.equal(
          await getJson(access, ["kafkatopic", "mailer-jobs", "-n", namespace]),
          undefined,
        );
      },
    );

    await t.step("deletion with deletionPolicy Retain keeps the KafkaTopic", async () => {
      await applyObjects(
        access,
        poolManifest(namespace, "keeper", {
          topicProvisioning: { mode: "strimzi", strimzi: { clusterName: "events" } },
        }),
      );
      await eventually(
        "the keeper topic",
        async () => await getJson(access, ["kafkatopic", "keeper-jobs", "-n", namespace]),
      );
      const pool = await getJson(access, ["jwp", "keeper", "-n", namespace]);
      assert.equal(field(pool, "spec.topicProvisioning.strimzi.deletionPolicy"), "Retain");
      await kubectl(access, ["delete", "jwp", "keeper", "-n", namespace, "--wait=false"]);
      await eventually(
        "the pool to be gone",
        async () => (await getJson(access, ["jwp", "keeper", "-n", namespace])) === undefined,
      );
      assert.ok(await getJson(access, ["kafkatopic", "keeper-jobs", "-n", namespace]));
    });

    await t.step(
      "what the schema cannot catch → Ready=False with an actionable message",
      async () => {
        await applyObjects(
          access,
          poolManifest(namespace, "lost", {
            topicProvisioning: {
              mode: "strimzi",
              strimzi: { clusterName: "events", namespace: "no-such-kafka-namespace" },
            },
          }),
        );
        const lost = await eventually("pool lost to report the missing namespace", async () => {
          const pool = await getJson(access, ["jwp", "lost", "-n", namespace]);
          return condition(pool, "Ready")?.reason === "NamespaceNotFound" ? pool : undefined;
        });
        assert.equal(condition(lost, "Ready")?.status, "False");
        assert.match(
          condition(lost, "Ready")?.message ?? "",
          /no-such-kafka-namespace.*strimzi\.namespace/,
        );
        assert.ok(isObserved(lost));

        await applyObjects(
          access,
          poolManifest(namespace, "owner", {
            kafka: { bootstrapServers: ["k:9092"], topic: { name: "owned-jobs" } },
            topicProvisioning: { mode: "strimzi", strimzi: { clusterName: "events" } },
          }),
        );
        await eventually(
          "the owner's topic",
          async () => await getJson(access, ["kafkatopic", "owned-jobs", "-n", namespace]),
        );
        await applyObjects(
          access,
          // Declared differently (more partitions): not shareable.
          poolManifest(namespace, "copycat", {
            kafka: { bootstrapServers: ["k:9092"], topic: { name: "owned-jobs", partitions: 24 } },
            topicProvisioning: { mode: "strimzi", strimzi: { clusterName: "events" } },
          }),
        );
        const copycat = await eventually("pool copycat to report the taken topic", async () => {
          const pool = await getJson(access, ["jwp", "copycat", "-n", namespace]);
          return condition(pool, "Ready")?.reason === "TopicOwnedByAnotherPool" ? pool : undefined;
        });
        assert.match(condition(copycat, "Ready")?.message ?? "", /owner.*partitions/);

        // The topic kept (Retain) from the deleted pool "keeper" is adopted by a new pool.
        await applyObjects(
          access,
          poolManifest(namespace, "heir", {
            kafka: { bootstrapServers: ["k:9092"], topic: { name: "keeper-jobs" } },
            topicProvisioning: { mode: "strimzi", strimzi: { clusterName: "events" } },
          }),
        );
        const heir = await eventually("pool heir to adopt the retained topic", async () => {
          const pool = await getJson(access, ["jwp", "heir", "-n", namespace]);
          return condition(pool, "Ready")?.status === "True" ? pool : undefined;
        });
        const kept = await getJson(access, ["kafkatopic", "keeper-jobs", "-n", namespace]);
        assert.equal(kept?.metadata.labels?.["jobpool.dev/pool-uid"], heir.metadata.uid);
      },
    );
    await t.step(
      "two pools claiming one consumer group → the later one is Ready=False",
      async () => {
        const group = { consumerGroup: "shared-group" };
        await applyObjects(
          access,
          poolManifest(namespace, "first", {
            kafka: { bootstrapServers: ["k:9092"], topic: { name: "first-jobs" }, ...group },
          }),
        );
        await eventually("first to be Ready", async () => {
          const pool = await getJson(access, ["jwp", "first", "-n", namespace]);
          return condition(pool, "Ready")?.status === "True";
        });
        await applyObjects(
          access,
          poolManifest(namespace, "second", {
            kafka: { bootstrapServers: ["k:9092"], topic: { name: "second-jobs" }, ...group },
          }),
        );
        const second = await eventually("second to report the conflict", async () => {
          const pool = await getJson(access, ["jwp", "second", "-n", namespace]);
          return condition(pool, "Ready")?.reason === "ConsumerGroupConflict" ? pool : undefined;
        });
        const ready = condition(second, "Ready");
        assert.equal(ready?.status, "False");
        assert.match(ready?.message ?? "", /shared-group.*first/);
        assert.equal(
          await getJson(access, ["deployment", "second-worker", "-n", namespace]),
          undefined,
          "no workers that would steal the first pool's partitions",
        );
        const events = await kubectl(access, [
          "get",
          "events",
          "-n",
          namespace,
          "--field-selector",
          "involvedObject.name=second",
          "-o",
          "json",
        ]);
        const reasons = (JSON.parse(events) as { items: KubeObject[] }).items.map((e) =>
          e["reason"]
        );
        assert.ok(reasons.includes("ConsumerGroupConflict"), `events: ${reasons.join(", ")}`);

        await kubectl(access, ["delete", "jwp", "first", "-n", namespace, "--wait=false"]);
        await eventually("second to take over the group", async () => {
          const pool = await getJson(access, ["jwp", "second", "-n", namespace]);
          return condition(pool, "Ready")?.status === "True";
        });
      },
    );
  } finally {
    await standIns?.stop();
    await operator.stop();
    client.close();
  }
});
