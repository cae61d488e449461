import assert from "node:assert/strict";
import { FakeClock } from "./clock.ts";
import { EventRecorder } from "./events.ts";
import type { KubeClient } from "./kube_client.ts";
import type { ResourceType } from "./resources.ts";
import type { KubeObject } from "./object.ts";

Deno.test("EventRecorder writes core/v1 Events, once per window, and never throws", async () => {
  const created: KubeObject[] = [];
  let failing = false;
  const client = {
    create(_type: ResourceType, object: KubeObject) {
      if (failing) return Promise.reject(new Error("forbidden"));
      created.push(object);
      return Promise.resolve(object);
    },
  } as unknown as KubeClient;
  const clock = new FakeClock();
  const recorder = new EventRecorder({
    client,
    component: "op",
    instance: "op-0",
    clock,
    dedupeWindowMs: 1_000,
  });
  const pool: KubeObject = {
    apiVersion: "jobpool.dev/v1alpha1",
    kind: "JobWorkerPool",
    metadata: { name: "p", namespace: "ns", uid: "u1" },
  };
  const event = { type: "Warning" as const, reason: "ConsumerGroupConflict", message: "taken" };
  await recorder.record(pool, event);
  await recorder.record(pool, event);
  assert.equal(created.length, 1, "deduplicated");
  const written = created[0]!;
  assert.equal(written.metadata["generateName"], "p.");
  assert.equal((written["involvedObject"] as { uid: string }).uid, "u1");
  assert.equal(written["reason"], "ConsumerGroupConflict");
  await clock.advance(1_000);
  await recorder.record(pool, event);
  assert.equal(created.length, 2, "again after the window");
  failing = true;
  await recorder.record(pool, { ...event, message: "other" });
});
