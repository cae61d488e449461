import assert from "node:assert/strict";
import { type JobWorkerPool, newJobWorkerPool } from "../api/mod.ts";
import { topicUser } from "./topic_cleanup.ts";

function pool(name: string, spec: Record<string, unknown> = {}): JobWorkerPool {
  return newJobWorkerPool({ name, namespace: "ns", uid: `uid-${name}` }, {
    image: "example/worker:1",
    kafka: { bootstrapServers: [`${name}:9092`], topic: { name: "shared" } },
    topicProvisioning: { mode: "strimzi", strimzi: { clusterName: "c" } },
    ...spec,
  } as never);
}

Deno.test("topicUser: another pool on the same Strimzi cluster uses the topic", () => {
  const user = pool("q");
  assert.equal(topicUser(pool("p"), [pool("p"), user]), user);
});

Deno.test("topicUser: a bootstrap server in common means the same Kafka cluster", () => {
  const user = pool("q", {
    kafka: { bootstrapServers: ["p:9092"], topic: { name: "shared" } },
    topicProvisioning: { mode: "none" },
  });
  assert.equal(topicUser(pool("p"), [user]), user);
});

Deno.test("topicUser: another topic, another cluster or a deleted pool is no user", () => {
  const p = pool("p");
  const otherTopic = pool("q", {
    kafka: { bootstrapServers: ["p:9092"], topic: { name: "other" } },
  });
  const otherCluster = pool("r", {
    topicProvisioning: { mode: "strimzi", strimzi: { clusterName: "d" } },
  });
  const deleted = pool("s");
  deleted.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
  assert.equal(topicUser(p, [p, otherTopic, otherCluster, deleted]), undefined);
});
