import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { type JobWorkerPool, newJobWorkerPool } from "../api/mod.ts";
import type { ApplyOptions, KubeClient } from "../runtime/kube_client.ts";
import type { ResourceType } from "../runtime/resources.ts";
import type { KubeObject } from "../runtime/object.ts";
import { KafkaUnreachableError, type LagReader } from "./kafka_lag_reader.ts";
import { LAG_FIELD_MANAGER, runLagMonitor } from "./lag_monitor.ts";

function pool(name: string, brokers: string[], lag?: number): JobWorkerPool {
  const p = newJobWorkerPool({ name, namespace: "ns", uid: `uid-${name}` }, {
    image: "worker:1",
    kafka: { bootstrapServers: brokers },
  });
  if (lag !== undefined) p.status = { lag };
  return p;
}

/** Records status writes; applies them to `pools` as the API server would. */
function statusClient(pools: JobWorkerPool[]) {
  const writes: Array<{ name: string; status: unknown; manager: string | undefined }> = [];
  const client = {
    apply(_type: ResourceType, object: KubeObject, options: ApplyOptions = {}) {
      writes.push({
        name: object.metadata.name ?? "",
        status: object["status"],
        manager: options.fieldManager,
      });
      const target = pools.find((p) => p.metadata.name === object.metadata.name);
      if (target) target.status = object["status"] as NonNullable<JobWorkerPool["status"]>;
      return Promise.resolve(object);
    },
  } as unknown as KubeClient;
  return { client, writes };
}

/** Runs `passes` passes of the monitor with no wait between them. */
async function runPasses(
  options: { pools: JobWorkerPool[]; reader: LagReader; client: KubeClient; concurrency?: number },
  passes: number,
): Promise<void> {
  const stop = new AbortController();
  let done = 0;
  await runLagMonitor({
    client: options.client,
    reader: options.reader,
    pools: () => options.pools,
    intervalMs: 0,
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    onPass: () => ++done >= passes && stop.abort(),
  }, stop.signal);
}

Deno.test("lag monitor: writes status.lag under its own manager, only when it changed", async () => {
  const pools = [pool("a", ["k:9092"]), pool("b", ["k:9092"], 3)];
  const lags = new Map([["a", 5], ["b", 3]]);
  const reader: LagReader = {
    read: (p) => Promise.resolve(lags.get(p.metadata.name)!),
    close: () => Promise.resolve(),
  };
  const { client, writes } = statusClient(pools);
  await runPasses({ pools, reader, client }, 3);
  assert.deepEqual(writes, [{ name: "a", status: { lag: 5 }, manager: LAG_FIELD_MANAGER }]);
});

Deno.test("lag monitor: reads a few clusters at a time, one pool at a time on each", async () => {
  const pools = Array.from({ length: 10 }, (_, i) => pool(`p${i}`, [`k${i % 5}:9092`]));
  let inFlight = 0;
  let most = 0;
  const reader: LagReader = {
    async read() {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight--;
      return 1;
    },
    close: () => Promise.resolve(),
  };
  await runPasses({ pools, reader, client: statusClient(pools).client, concurrency: 3 }, 1);
  assert.equal(most, 3);
});

Deno.test("lag monitor: an unreachable cluster is asked once per pass, its pools cleared", async () => {
  const pools = [pool("a", ["gone:9092"], 4), pool("b", ["gone:9092"], 5)];
  const reads: string[] = [];
  const reader: LagReader = {
    read(p) {
      reads.push(p.metadata.name);
      return Promise.reject(new KafkaUnreachableError(["gone:9092"], new Error("ENOTFOUND")));
    },
    close: () => Promise.resolve(),
  };
  const { client, writes } = statusClient(pools);
  await runPasses({ pools, reader, client }, 1);
  assert.deepEqual(reads, ["a"]);
  assert.deepEqual(writes.map((w) => [w.name, w.status]), [["a", {}], ["b", {}]]);
});

Deno.test("lag monitor: a failing cluster is cleared, backs off, and warns once", async () => {
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
    const pools = [pool("down", ["gone:9092"], 7), pool("up", ["k:9092"])];
    const reads: string[] = [];
    const reader: LagReader = {
      read(p) {
        reads.push(p.metadata.name);
        return p.metadata.name === "down"
          ? Promise.reject(new KafkaUnreachableError(["gone:9092"], new Error("ECONNREFUSED")))
          : Promise.resolve(2);
      },
      close: () => Promise.resolve(),
    };
    const { client, writes } = statusClient(pools);
    const stop = new AbortController();
    let passes = 0;
    await runLagMonitor({
      client,
      reader,
      pools: () => pools,
      intervalMs: 1,
      maxBackoffMs: 60_000,
      onPass: () => ++passes >= 6 && stop.abort(),
    }, stop.signal);
    assert.ok(reads.filter((name) => name === "down").length < 6, `reads: ${reads.join(",")}`);
    assert.equal(reads.filter((name) => name === "up").length, 6);
    assert.deepEqual(writes.find((w) => w.name === "down")?.status, {}, "stale lag cleared");
    const warnings = records.filter((r) => r.level === "warning");
    assert.equal(warnings.length, 1);
    assert.match(JSON.stringify(warnings[0]?.properties), /ns\/down.*ECONNREFUSED/);
  } finally {
    await reset();
  }
});
