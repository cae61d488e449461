import assert from "node:assert/strict";
import { RESOURCES } from "../runtime/resources.ts";
import { ownerKey, topicOwnerKey } from "./watches.ts";
import { TOPIC_TYPES } from "./topic_cleanup.ts";

Deno.test("TOPIC_TYPES: KafkaTopics are watched in v1 and v1beta2 (Strimzi serves one or both)", () => {
  assert.deepEqual(
    TOPIC_TYPES.map((type) => `${type.group}/${type.version}`).sort(),
    ["kafka.strimzi.io/v1", "kafka.strimzi.io/v1beta2"],
  );
  assert.ok(TOPIC_TYPES.includes(RESOURCES.kafkaTopicsV1beta2));
});

Deno.test("ownerKey and topicOwnerKey name the pool an object belongs to", () => {
  assert.equal(
    ownerKey({
      metadata: {
        namespace: "ns",
        name: "p-worker",
        ownerReferences: [{
          apiVersion: "jobpool.dev/v1alpha1",
          kind: "JobWorkerPool",
          name: "p",
          uid: "u",
        }],
      },
    }),
    "ns/p",
  );
  assert.equal(ownerKey({ metadata: { namespace: "ns", name: "x" } }), undefined);
  assert.equal(
    topicOwnerKey({
      metadata: {
        namespace: "kafka",
        name: "t",
        labels: { "jobpool.dev/pool-namespace": "ns", "jobpool.dev/pool-name": "p" },
      },
    }),
    "ns/p",
  );
});
