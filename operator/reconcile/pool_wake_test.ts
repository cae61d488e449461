import assert from "node:assert/strict";
import { type JobWorkerPool, newJobWorkerPool } from "../api/mod.ts";
import { poolsToWake } from "./pool_wake.ts";

function pool(
  name: string,
  options: { group?: string; topic?: string; namespace?: string; blockedBy?: string } = {},
): JobWorkerPool {
  const p = newJobWorkerPool({ name, namespace: options.namespace ?? "ns", uid: `uid-${name}` }, {
    image: "example/worker:1",
    kafka: {
      bootstrapServers: ["kafka:9092"],
      topic: { name: options.topic ?? `${name}-jobs` },
      ...(options.group ? { consumerGroup: options.group } : {}),
    },
  });
  if (options.blockedBy) {
    p.status = {
      conditions: [{
        type: "Ready",
        status: "False",
        reason: options.blockedBy,
        message: "blocked",
        lastTransitionTime: "2026-01-03T00:00:00Z",
      }],
    };
  }
  return p;
}

const names = (pools: JobWorkerPool[]) => pools.map((p) => p.metadata.name).sort();

Deno.test("poolsToWake: the group's and the topic's other claimants, in any namespace", () => {
  const a = pool("a", { group: "g", topic: "jobs" });
  const b = pool("b", { group: "g" });
  const c = pool("c", { namespace: "other", group: "g" });
  const d = pool("d", { topic: "jobs", namespace: "other" });
  const e = pool("e");
  assert.deepEqual(names(poolsToWake(a, [a, b, c, d, e])), ["b", "c", "d"]);
  assert.deepEqual(names(poolsToWake(e, [a, b, c, d, e])), []);
});

Deno.test("poolsToWake: every pool blocked by another pool, once", () => {
  const a = pool("a");
  const waitingForGroup = pool("b", { blockedBy: "ConsumerGroupConflict" });
  const waitingForTopic = pool("c", { blockedBy: "TopicOwnedByAnotherPool", topic: "a-jobs" });
  const invalid = pool("d", { blockedBy: "InvalidSpec" });
  assert.deepEqual(names(poolsToWake(a, [a, waitingForGroup, waitingForTopic, invalid])), [
    "b",
    "c",
  ]);
});
