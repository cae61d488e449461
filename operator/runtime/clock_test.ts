import assert from "node:assert/strict";
import { FakeClock, kubeTime, sleep } from "./clock.ts";

Deno.test("kubeTime formats a metav1.Time: whole seconds, UTC", () => {
  assert.equal(kubeTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), "2026-01-02T03:04:05Z");
});

Deno.test("FakeClock fires timers in order as time advances; sleep follows it", async () => {
  const clock = new FakeClock(0);
  const fired: string[] = [];
  clock.setTimer(() => fired.push("b"), 20);
  clock.setTimer(() => fired.push("a"), 10);
  const slept = sleep(clock, 15).then(() => fired.push("sleep"));
  await clock.advance(30);
  await slept;
  assert.deepEqual(fired, ["a", "sleep", "b"]);
  assert.equal(clock.now(), 30);
  assert.equal(clock.pendingTimers, 0);
});
