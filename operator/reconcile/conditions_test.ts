import assert from "node:assert/strict";
import { CONDITION_DOCS } from "../api/conditions.ts";
import {
  availableFromDeployment,
  computeStatus,
  type ConditionState,
  fromForeignReady,
  REASONS,
  setCondition,
  summarizeReady,
} from "./conditions.ts";

const ok: ConditionState = { status: "True", reason: "Fine", message: "fine" };

Deno.test("setCondition keeps lastTransitionTime while the status holds", () => {
  const first = setCondition([], "Ready", {
    state: ok,
    now: "2026-01-01T00:00:00Z",
    observedGeneration: 1,
  });
  const same = setCondition(first, "Ready", {
    state: { ...ok, message: "still fine" },
    now: "2026-01-02T00:00:00Z",
    observedGeneration: 2,
  });
  assert.equal(same[0]?.lastTransitionTime, "2026-01-01T00:00:00Z");
  assert.equal(same[0]?.message, "still fine");
  assert.equal(same[0]?.observedGeneration, 2);
  const flipped = setCondition(same, "Ready", {
    state: { status: "False", reason: "Broken", message: "broken" },
    now: "2026-01-03T00:00:00Z",
    observedGeneration: 2,
  });
  assert.equal(flipped[0]?.lastTransitionTime, "2026-01-03T00:00:00Z");
  assert.equal(flipped.length, 1);
});

Deno.test("computeStatus: all conditions in order, Ready summarizing, replicas from the Deployment", () => {
  const status = computeStatus({
    generation: 3,
    previous: undefined,
    now: "2026-01-01T00:00:00Z",
    consumerGroup: "g",
    topic: ok,
    scaler: ok,
    deployment: { name: "p-worker", status: { replicas: 2 } },
  });
  assert.equal(status.observedGeneration, 3);
  assert.equal(status.replicas, 2);
  assert.equal(status.consumerGroup, "g");
  assert.deepEqual(status.conditions?.map((c) => c.type), [
    "Ready",
    "TopicReady",
    "ScalerReady",
    "Available",
  ]);
  const ready = status.conditions?.[0];
  assert.equal(ready?.status, "Unknown", "the Deployment has not reported yet");
  assert.equal(ready?.reason, REASONS.workersNotAvailable);
  assert.equal(status.conditions?.[3]?.status, "Unknown");
  assert.equal(status.conditions?.[3]?.reason, REASONS.deploymentPending);
});

Deno.test("summarizeReady: True only when every part is, else the first False part", () => {
  const unknown: ConditionState = { status: "Unknown", reason: "Waiting", message: "waiting" };
  const bad: ConditionState = { status: "False", reason: "TriggerError", message: "broken" };
  assert.deepEqual(summarizeReady({ topic: ok, scaler: ok, available: ok }).status, "True");
  const scalerDown = summarizeReady({ topic: unknown, scaler: bad, available: ok });
  assert.equal(scalerDown.status, "False");
  assert.equal(scalerDown.reason, REASONS.scalerPartNotReady);
  assert.match(
    scalerDown.message,
    /^ScalerReady is False \(TriggerError\): broken; also TopicReady/,
  );
  const waiting = summarizeReady({ topic: unknown, scaler: ok, available: unknown });
  assert.equal(waiting.status, "Unknown");
  assert.equal(waiting.reason, REASONS.topicPartNotReady);
  const down = summarizeReady({ topic: ok, scaler: ok, available: { ...bad, reason: "X" } });
  assert.equal(down.reason, REASONS.workersNotAvailable);
});

Deno.test("computeStatus: a blocked pool is Ready=False with the blocker's reason", () => {
  const status = computeStatus({
    generation: 1,
    previous: undefined,
    now: "2026-01-01T00:00:00Z",
    consumerGroup: "g",
    blocker: { status: "False", reason: REASONS.consumerGroupConflict, message: "taken" },
    topic: ok,
    scaler: ok,
  });
  assert.equal(status.conditions?.[0]?.reason, REASONS.consumerGroupConflict);
  assert.equal(status.conditions?.[3]?.reason, REASONS.notReconciled);
  assert.equal(status.replicas, 0);
});

Deno.test("availableFromDeployment mirrors the Deployment's Available condition", () => {
  const state = availableFromDeployment("w", {
    conditions: [{
      type: "Available",
      status: "False",
      reason: "MinimumReplicasUnavailable",
      message: "0 of 1",
    }],
  });
  assert.deepEqual(state, {
    status: "False",
    reason: "MinimumReplicasUnavailable",
    message: "Deployment w: 0 of 1",
  });
});

Deno.test("fromForeignReady reads a Strimzi or KEDA Ready condition", () => {
  const options = {
    readyReason: "R",
    notReadyReason: "N",
    what: "KafkaTopic t",
    missing: { status: "Unknown" as const, reason: "M", message: "m" },
  };
  assert.equal(fromForeignReady(undefined, options).reason, "M");
  assert.equal(
    fromForeignReady({ conditions: [{ type: "Ready", status: "True" }] }, options).status,
    "True",
  );
  const bad = fromForeignReady(
    { conditions: [{ type: "Ready", status: "False", message: "no" }] },
    options,
  );
  assert.equal(bad.reason, "N");
  assert.match(bad.message, /no/);
});

Deno.test("every reason the reconciler writes is documented in the API's condition catalogue", () => {
  const documented = new Set(CONDITION_DOCS.flatMap((c) => c.reasons.map((r) => r.reason)));
  for (const reason of Object.values(REASONS)) {
    assert.ok(documented.has(reason), `${reason} is missing from operator/api/conditions.ts`);
  }
});
