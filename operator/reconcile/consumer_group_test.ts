import assert from "node:assert/strict";
import { type JobWorkerPool, newJobWorkerPool } from "../api/mod.ts";
import { consumerGroupWinner, sameGroupPools, sameKafkaCluster } from "./consumer_group.ts";

function pool(
  name: string,
  created: string,
  group?: string,
  namespace = "ns",
  brokers = ["kafka:9092"],
): JobWorkerPool {
  return newJobWorkerPool(
    { name, namespace, creationTimestamp: created },
    {
      image: "example/worker:1",
      jobTypes: ["email.send"],
      kafka: {
        bootstrapServers: brokers,
        topic: { name: "jobs" },
        ...(group ? { consumerGroup: group } : {}),
      },
    } as unknown as Parameters<typeof newJobWorkerPool>[1],
  );
}

Deno.test("consumerGroupWinner: the older pool keeps the group, the later one conflicts", () => {
  const a = pool("a", "2026-01-01T00:00:00Z", "g");
  const b = pool("b", "2026-01-02T00:00:00Z", "g");
  assert.equal(consumerGroupWinner(a, [a, b]), undefined);
  assert.equal(consumerGroupWinner(b, [a, b])?.metadata.name, "a");
});

Deno.test("consumerGroupWinner: same creation time → the name decides", () => {
  const a = pool("a", "2026-01-01T00:00:00Z", "g");
  const b = pool("b", "2026-01-01T00:00:00Z", "g");
  assert.equal(consumerGroupWinner(b, [a, b])?.metadata.name, "a");
  assert.equal(consumerGroupWinner(a, [a, b]), undefined);
});

Deno.test("consumerGroupWinner: default groups differ, other clusters and deleted pools do not count", () => {
  const a = pool("a", "2026-01-01T00:00:00Z");
  const b = pool("b", "2026-01-02T00:00:00Z");
  assert.equal(consumerGroupWinner(b, [a, b]), undefined);
  const c = pool("c", "2026-01-01T00:00:00Z", "g", "ns", ["other-kafka:9092"]);
  const d = pool("d", "2026-01-02T00:00:00Z", "g");
  assert.equal(consumerGroupWinner(d, [c, d]), undefined, "another Kafka cluster");
  const e = pool("e", "2026-01-01T00:00:00Z", "g");
  e.metadata.deletionTimestamp = "2026-01-03T00:00:00Z";
  assert.equal(consumerGroupWinner(d, [e, d]), undefined);
  assert.deepEqual(sameGroupPools(d, [c, d, e]).map((p) => p.metadata.name), ["e"]);
});

Deno.test("consumerGroupWinner: groups are cluster-wide, so namespaces do not separate them", () => {
  const a = pool("a", "2026-01-01T00:00:00Z", "g", "team-a");
  const b = pool("b", "2026-01-02T00:00:00Z", "g", "team-b", ["KAFKA:9092", "k2:9092"]);
  assert.equal(consumerGroupWinner(b, [a, b])?.metadata.name, "a");
  assert.equal(consumerGroupWinner(a, [a, b]), undefined);
  // Same name and namespace-local default groups never clash: the namespace is in the group.
  const c = pool("c", "2026-01-01T00:00:00Z", undefined, "team-a");
  const c2 = pool("c", "2026-01-01T00:00:00Z", undefined, "team-b");
  assert.equal(consumerGroupWinner(c2, [c, c2]), undefined);
});

Deno.test("sameKafkaCluster: a shared bootstrap server or the same Strimzi cluster", () => {
  const a = pool("a", "2026-01-01T00:00:00Z", "g", "ns", ["b-1.example:9096", "b-2.example:9096"]);
  const b = pool("b", "2026-01-01T00:00:00Z", "g", "ns", ["B-2.example:9096"]);
  const c = pool("c", "2026-01-01T00:00:00Z", "g", "ns", ["b-2.example:9092"]);
  assert.equal(sameKafkaCluster(a, b), true);
  assert.equal(sameKafkaCluster(a, c), false, "another port is another listener, maybe cluster");
  const strimzi = (p: JobWorkerPool) => ({
    ...p,
    spec: {
      ...p.spec,
      topicProvisioning: {
        mode: "strimzi" as const,
        strimzi: {
          clusterName: "main",
          namespace: "kafka",
          apiVersion: "v1" as const,
          deletionPolicy: "Retain" as const,
        },
      },
    },
  });
  assert.equal(sameKafkaCluster(strimzi(a), strimzi(c)), true);
});

Deno.test("consumerGroupWinner: the pool already running the group keeps it, even when newer", () => {
  const older = pool("a", "2026-01-01T00:00:00Z", "g");
  const incumbent = pool("b", "2026-01-02T00:00:00Z", "g");
  incumbent.status = { observedGeneration: 1, consumerGroup: "g" };
  assert.equal(consumerGroupWinner(older, [older, incumbent])?.metadata.name, "b");
  assert.equal(consumerGroupWinner(incumbent, [older, incumbent]), undefined);
  // A status that records the group while in conflict does not make a pool the incumbent.
  const loser = pool("c", "2026-01-03T00:00:00Z", "h");
  loser.status = {
    observedGeneration: 1,
    consumerGroup: "h",
    conditions: [{
      type: "Ready",
      status: "False",
      reason: "ConsumerGroupConflict",
      message: "taken",
      lastTransitionTime: "2026-01-03T00:00:00Z",
    }],
  };
  const owner = pool("d", "2026-01-02T00:00:00Z", "h");
  assert.equal(consumerGroupWinner(loser, [loser, owner])?.metadata.name, "d");
  // A Deployment that runs the group makes a pool the incumbent too.
  const runs = (p: JobWorkerPool) => p.metadata.name === "c";
  assert.equal(consumerGroupWinner(owner, [loser, owner], { runsGroup: runs })?.metadata.name, "c");
});
