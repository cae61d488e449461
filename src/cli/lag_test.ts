import assert from "node:assert/strict";
import { formatLag } from "./lag.ts";

Deno.test("the lag table has kafka-consumer-groups' columns and a total", () => {
  const text = formatLag(
    {
      group: "workers",
      topic: "jobs",
      total: 5,
      partitions: [
        {
          topic: "jobs",
          partition: 0,
          currentOffset: 3,
          logStartOffset: 0,
          logEndOffset: 5,
          lag: 2,
        },
        {
          topic: "jobs",
          partition: 1,
          currentOffset: null,
          logStartOffset: 0,
          logEndOffset: 3,
          lag: 3,
        },
      ],
    },
    new Map([[0, { consumerId: "c-1", host: "/10.0.0.1", clientId: "jobpool" }]]),
  );
  const lines = text.split("\n").map((line) => line.split(/\s+/));
  assert.deepEqual(lines[0], [
    "GROUP",
    "TOPIC",
    "PARTITION",
    "CURRENT-OFFSET",
    "LOG-END-OFFSET",
    "LAG",
    "CONSUMER-ID",
    "HOST",
    "CLIENT-ID",
  ]);
  assert.deepEqual(lines[1], [
    "workers",
    "jobs",
    "0",
    "3",
    "5",
    "2",
    "c-1",
    "/10.0.0.1",
    "jobpool",
  ]);
  assert.deepEqual(lines[2], ["workers", "jobs", "1", "-", "3", "3", "-", "-", "-"]);
  assert.equal(text.split("\n").at(-1), "TOTAL LAG: 5");
});
