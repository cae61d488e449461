import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { newJobWorkerPool } from "../api/mod.ts";
import { KubeApiError, type KubeClient } from "../runtime/kube_client.ts";
import { createKafkaLagReader } from "./lag.ts";

Deno.test("lag: a pool whose lag cannot be read is a warning once, then debug", async () => {
  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { memory: (record) => records.push(record) },
    loggers: [
      { category: ["jobpool", "operator", "lag"], lowestLevel: "debug", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  try {
    const client = {
      get: () =>
        Promise.reject(
          new KubeApiError("get", {
            code: 403,
            reason: "Forbidden",
            message: "secrets is forbidden",
          }),
        ),
    } as unknown as KubeClient;
    const reader = createKafkaLagReader({ client });
    const pool = newJobWorkerPool({ name: "p", namespace: "ns", uid: "u" }, {
      image: "worker:1",
      kafka: {
        bootstrapServers: ["kafka:9092"],
        sasl: { mechanism: "scram-sha-512", secretRef: { name: "creds" } },
      },
    } as never);
    assert.equal(await reader.read(pool), undefined);
    assert.equal(await reader.read(pool), undefined);
    await reader.close();
    const levels = records.map((r) => r.level);
    assert.deepEqual(levels, ["warning", "debug"]);
    assert.match(JSON.stringify(records[0]?.properties), /secrets is forbidden/);
    assert.match(JSON.stringify(records[0]?.properties), /ns\/creds/);
  } finally {
    await reset();
  }
});
