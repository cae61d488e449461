import assert from "node:assert/strict";
import { kafkaLogDecision } from "./log_levels.ts";

Deno.test("kafkajs answers a healthy group meets on start and rebalance are not errors", () => {
  const cases: [string, string][] = [
    ["Response GroupCoordinator(key: 10, version: 2)", "The group coordinator is not available"],
    [
      "Response InitProducerId(key: 22, version: 1)",
      "The coordinator is loading and hence can't process requests",
    ],
    ["Response Heartbeat(key: 12, version: 3)", "The group is rebalancing, so a rejoin is needed"],
  ];
  for (const [message, error] of cases) {
    const decision = kafkaLogDecision("error", message, error);
    assert.equal(decision.level, "info", error);
    assert.ok(decision.explanation && decision.explanation.length > 10);
  }
});

Deno.test("other kafkajs errors keep their level, and lower levels are untouched", () => {
  assert.deepEqual(
    kafkaLogDecision("error", "Response Produce(key: 0, version: 7)", "SASL authentication failed"),
    { level: "error" },
  );
  assert.deepEqual(kafkaLogDecision("debug", "anything", "group is rebalancing"), {
    level: "debug",
  });
});
