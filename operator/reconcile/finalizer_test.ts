import assert from "node:assert/strict";
import { newJobWorkerPool } from "../api/mod.ts";
import { needsTopicCleanup } from "./finalizer.ts";

function withProvisioning(topicProvisioning: unknown) {
  return newJobWorkerPool({ name: "p", namespace: "ns" }, {
    image: "example/worker:1",
    kafka: { bootstrapServers: ["k:9092"], topic: { name: "jobs" } },
    topicProvisioning,
  } as never);
}

Deno.test("needsTopicCleanup: only Strimzi with deletionPolicy Delete", () => {
  const strimzi = (deletionPolicy?: string) =>
    withProvisioning({
      mode: "strimzi",
      strimzi: { clusterName: "c", ...(deletionPolicy ? { deletionPolicy } : {}) },
    });
  assert.equal(needsTopicCleanup(strimzi("Delete")), true);
  assert.equal(needsTopicCleanup(strimzi("Retain")), false);
  assert.equal(needsTopicCleanup(strimzi()), false);
  assert.equal(needsTopicCleanup(withProvisioning({ mode: "none" })), false);
});
