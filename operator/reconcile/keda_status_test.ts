import assert from "node:assert/strict";
import { REASONS } from "./conditions.ts";
import { scalerFromKeda } from "./keda_status.ts";

const ready = { type: "Ready", status: "True", reason: "ScaledObjectReady", message: "ok" };

Deno.test("scalerFromKeda: nothing reported yet (or KEDA's blank initial conditions) → waiting", () => {
  assert.equal(scalerFromKeda("s", undefined).reason, REASONS.waitingForKeda);
  const initial = scalerFromKeda("s", { conditions: [{ type: "Ready", status: "Unknown" }] });
  assert.equal(initial.status, "Unknown");
  assert.equal(initial.reason, REASONS.waitingForKeda);
});

Deno.test("scalerFromKeda: Ready=True → ScalerReady", () => {
  const state = scalerFromKeda("s", {
    conditions: [ready, { type: "Fallback", status: "False", reason: "NoFallbackFound" }],
  });
  assert.equal(state.status, "True");
  assert.equal(state.reason, REASONS.scalerReady);
});

Deno.test("scalerFromKeda: TriggerError → False with KEDA's reason and what to check", () => {
  const state = scalerFromKeda("s", {
    conditions: [{
      type: "Ready",
      status: "False",
      reason: "TriggerError",
      message: "Triggers defined in ScaledObject are not working correctly",
    }],
  });
  assert.equal(state.status, "False");
  assert.equal(state.reason, REASONS.scalerNotReady);
  assert.match(state.message, /TriggerError.*not working correctly.*topic exists/);
});

Deno.test("scalerFromKeda: an active fallback is not ready, even while KEDA's Ready is True", () => {
  const state = scalerFromKeda("s", {
    conditions: [ready, { type: "Fallback", status: "True", reason: "FallbackExists" }],
    health: { "s0-kafka-jobs": { numberOfFailures: 4, status: "Failing" } },
  });
  assert.equal(state.status, "False");
  assert.equal(state.reason, REASONS.fallbackActive);
  assert.match(state.message, /s0-kafka-jobs failed 4 times in a row/);
});

Deno.test("scalerFromKeda: a paused ScaledObject is not ready", () => {
  const state = scalerFromKeda("s", {
    conditions: [ready, { type: "Paused", status: "True", message: "ScaledObject is paused" }],
  });
  assert.equal(state.reason, REASONS.scalerPaused);
});
