import assert from "node:assert/strict";
import { newJobWorkerPool } from "../api/mod.ts";
import { REASONS } from "./conditions.ts";
import { synthesizePool } from "../synth/mod.ts";
import { synthesizeOrBlock } from "./desired.ts";

const pool = newJobWorkerPool({ name: "p", namespace: "ns" }, {
  image: "example/worker:1",
  kafka: { bootstrapServers: ["k:9092"], topic: { name: "jobs" } },
} as never);

Deno.test("synthesizeOrBlock: a spec the synthesizer refuses is Ready=False InvalidSpec", () => {
  const state = synthesizeOrBlock(() => {
    throw new RangeError("replicas.max below replicas.min");
  }, pool);
  assert.ok("status" in state);
  assert.equal(state.status, "False");
  assert.equal(state.reason, REASONS.invalidSpec);
  assert.match(state.message, /replicas\.max below replicas\.min/);
});

Deno.test("synthesizeOrBlock: other errors propagate; objects are returned", () => {
  assert.throws(() =>
    synthesizeOrBlock(() => {
      throw new Error("boom");
    }, pool), /boom/);
  const objects = synthesizePool(pool);
  assert.equal(synthesizeOrBlock(() => objects, pool), objects);
});
