import assert from "node:assert/strict";
import { nextMilestone, reachedMilestone } from "./milestone.ts";

Deno.test("the milestone is the highest threshold reached by verified referrals", () => {
  const thresholds = [1, 5, 10, 25];
  assert.equal(reachedMilestone(0, thresholds), undefined);
  assert.equal(reachedMilestone(1, thresholds), 1);
  assert.equal(reachedMilestone(7, thresholds), 5);
  assert.equal(reachedMilestone(25, [25, 10, 1]), 25);
  assert.equal(reachedMilestone(3, []), undefined);
  assert.equal(nextMilestone(7, thresholds), 10);
  assert.equal(nextMilestone(25, thresholds), undefined);
});
