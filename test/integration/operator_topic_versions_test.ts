/**
 * A Strimzi that serves KafkaTopic `v1beta2` only (as before Strimzi 0.49): a
 * kube-apiserver of its own with such a CRD. The operator's topic informer on
 * `v1beta2` notices a deleted KafkaTopic and puts it back; resync is off, so
 * only the watch can do it. And the opposite case: a pool asking for a version
 * the cluster does not serve is told which versions it does serve.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { CRD_FIXTURES } from "../env/kube.ts";
import {
  applyObjects,
  condition,
  crdDir,
  createNamespace,
  eventually,
  getJson,
  installPoolCrd,
  kubectl,
  newClient,
  observedPool,
  poolManifest,
  sharedKube,
  startPrivateKube,
  startTestOperator,
} from "./operator_support.ts";

Deno.test("KafkaTopics served as v1beta2 only are watched: a deleted topic comes back", async () => {
  const { access, client, stop } = await startPrivateKube(async (dir) => {
    // Strimzi 0.49.1's CRD with v1 no longer served: what clusters on older Strimzi have.
    const upstream = await Deno.readTextFile(
      join(crdDir(), CRD_FIXTURES.strimziKafkaTopicsV1beta2),
    );
    const v1beta2Only = upstream.replace(
      /(\n {2}- name: v1\n {4}served: )true\n/,
      "$1false\n",
    );
    assert.notEqual(v1beta2Only, upstream, "the fixture's v1 version entry was found");
    const crdFile = join(dir, "kafkatopics-v1beta2-only.yaml");
    await Deno.writeTextFile(crdFile, v1beta2Only);
    return [
      join(crdDir(), CRD_FIXTURES.kedaScaledObjects),
      join(crdDir(), CRD_FIXTURES.kedaTriggerAuthentications),
      crdFile,
    ];
  });
  try {
    const namespace = await createNamespace(access, "op-v1beta2");
    // Resync an hour away; the watchdog at startOperator's default (90 s).
    const operator = await startTestOperator({
      client,
      namespace,
      resyncPeriodMs: 3_600_000,
      watchdogMs: 90_000,
    });
    try {
      await applyObjects(
        access,
        poolManifest(namespace, "old", {
          topicProvisioning: {
            mode: "strimzi",
            strimzi: { clusterName: "events", apiVersion: "v1beta2" },
          },
        }),
      );
      await observedPool(access, { namespace, name: "old" });
      const topic = await getJson(access, [
        "kafkatopics.v1beta2.kafka.strimzi.io",
        "old-jobs",
        "-n",
        namespace,
      ]);
      assert.equal(topic?.apiVersion, "kafka.strimzi.io/v1beta2");

      await kubectl(access, [
        "delete",
        "kafkatopics.v1beta2.kafka.strimzi.io",
        "old-jobs",
        "-n",
        namespace,
      ]);
      const restored = await eventually("the deleted KafkaTopic to be put back", async () => {
        const topic = await getJson(access, [
          "kafkatopics.v1beta2.kafka.strimzi.io",
          "old-jobs",
          "-n",
          namespace,
        ]);
        return topic && topic.metadata.uid !== undefined ? topic : undefined;
      });
      assert.ok(restored);
    } finally {
      await operator.stop();
    }
  } finally {
    await stop();
  }
});

Deno.test("a KafkaTopic version the cluster does not serve is named with the ones it does", async () => {
  // The shared server has Strimzi 1.2.0's CRD: KafkaTopic v1 only.
  const access = sharedKube();
  await installPoolCrd(access);
  const namespace = await createNamespace(access, "op-topic-version");
  const client = await newClient(access);
  const operator = await startTestOperator({ client, namespace });
  try {
    await applyObjects(
      access,
      poolManifest(namespace, "legacy", {
        topicProvisioning: {
          mode: "strimzi",
          strimzi: { clusterName: "events", apiVersion: "v1beta2" },
        },
      }),
    );
    const pool = await observedPool(access, { namespace, name: "legacy" });
    const topic = condition(pool, "TopicReady");
    assert.equal(topic?.status, "False");
    assert.equal(topic?.reason, "VersionNotServed");
    assert.match(
      topic?.message ?? "",
      /serves KafkaTopic of kafka\.strimzi\.io in v1, not v1beta2: set spec\.topicProvisioning\.strimzi\.apiVersion to v1/,
    );
    assert.equal(condition(pool, "Ready")?.reason, "TopicNotReady");
  } finally {
    await operator.stop();
    client.close();
  }
});
