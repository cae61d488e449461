/**
 * `deno task bench:worker`: the worker against plain kafkajs consumers on a
 * real broker, in one run. Not a test: it prints a table and writes
 * `test/bench/results/worker.json`.
 *
 * 1. Throughput, no-op handler, same topic and data: jobpool vs a raw
 *    `eachBatch` consumer vs an `eachMessage` consumer with
 *    `partitionsConsumedConcurrently`.
 * 2. Parallelism beyond partitions: one partition, 1000 keys, 0–5 ms of async
 *    work per job, pool 100 (the `eachMessage` consumer on the same data for
 *    contrast, on fewer jobs since it runs them one by one).
 * 3. Enqueue-to-start latency at a fixed rate through the job producer, for
 *    jobpool and for the `eachMessage` consumer.
 * 4. Peak RSS of each consumer process (each variant runs in a process of
 *    its own; jobpool's with the V8 flags of `deno task worker`).
 * 5. CPU time per 1000 jobs of the median throughput runs: steadier than
 *    jobs/s on a shared machine.
 *
 * Usage: `deno task bench:worker [--jobs 100000] [--partitions 8]
 * [--parallel-jobs 10000] [--rate 1000] [--seconds 10] [--runs 3] [--max-wait-ms N]
 * [--fix-baselines]`; throughput and one-partition figures are the median of
 * `--runs` runs; `--max-wait-ms` sets the worker's fetch `maxWaitTime` (its
 * default otherwise). jobpool's clients carry its fix of kafkajs's idle
 * request-queue loop (`src/kafka/request_queue_fix.ts`); the plain kafkajs
 * consumers get it too with `--fix-baselines`, which isolates the pipeline.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { loadConfig } from "../../src/config/mod.ts";
import { createJobEvent, type JobEvent } from "../../src/jobs/mod.ts";
import { createJobProducer, ensureTopic } from "../../src/producer/mod.ts";
import { startKafka } from "../env/kafka.ts";
import type { ChildResult, ChildSpec } from "./worker_bench_child.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(HERE, "..", "..");
const KEYS = 1000;

/**
 * The V8 flags of `deno task worker` (and of the worker image): the jobpool
 * consumer runs with them, as deployed; the plain kafkajs consumers run with
 * Deno's defaults.
 */
const WORKER_V8_FLAGS: string[] = (() => {
  const denoJson = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  const task: string = denoJson.tasks?.worker ?? "";
  return task.split(/\s+/).filter((word) => word.startsWith("--v8-flags="));
})();

const { values } = parseArgs({
  args: Deno.args,
  options: {
    jobs: { type: "string", default: "100000" },
    partitions: { type: "string", default: "8" },
    "parallel-jobs": { type: "string", default: "10000" },
    rate: { type: "string", default: "1000" },
    seconds: { type: "string", default: "10" },
    runs: { type: "string", default: "3" },
    "max-wait-ms": { type: "string" },
    "fix-baselines": { type: "boolean", default: false },
  },
});
const settings = {
  jobs: Number(values.jobs),
  partitions: Number(values.partitions),
  parallelJobs: Number(values["parallel-jobs"]),
  rate: Number(values.rate),
  seconds: Number(values.seconds),
  runs: Math.max(1, Number(values.runs)),
  maxWaitTimeMs: values["max-wait-ms"] === undefined ? undefined : Number(values["max-wait-ms"]),
  fixBaselines: values["fix-baselines"],
};

const campaigns = Array.from({ length: KEYS }, () => crypto.randomUUID());
const account = crypto.randomUUID();

function welcomeJob(index: number, timestamp = new Date()): JobEvent {
  const campaignId = campaigns[index % KEYS] ?? "";
  return createJobEvent({
    type: "job.email.welcome",
    accountId: account,
    campaignId,
    timestamp,
    data: { type: "welcome", campaign_id: campaignId, user_id: crypto.randomUUID(), priority: 1 },
  });
}

/** Runs one consumer process to completion; `whileRunning` starts once it is consuming. */
async function runChild(
  spec: ChildSpec,
  whileRunning?: () => Promise<void>,
): Promise<ChildResult> {
  const v8Flags = spec.variant === "jobpool" ? WORKER_V8_FLAGS : [];
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      ...v8Flags,
      join(HERE, "worker_bench_child.ts"),
      JSON.stringify(spec),
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let result: ChildResult | undefined;
  let buffered = "";
  const decoder = new TextDecoder();
  const running: Promise<void>[] = [];
  for await (const chunk of child.stdout) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line === "READY" && whileRunning) running.push(whileRunning());
      else if (line.startsWith("RESULT ")) result = JSON.parse(line.slice("RESULT ".length));
    }
  }
  await Promise.all(running);
  const status = await child.status;
  if (!result || !status.success) {
    throw new Error(`Bench consumer ${spec.variant} on ${spec.topic} failed (exit ${status.code})`);
  }
  return result;
}

/** Sends `rate` jobs per second for `seconds`, each stamped when it is enqueued. */
async function enqueueAtRate(
  kafka: ReturnType<typeof loadConfig>["kafka"],
  rate: number,
  seconds: number,
): Promise<void> {
  const producer = await createJobProducer({ kafka });
  const tickMs = 10;
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
  const ticks = Math.round((seconds * 1000) / tickMs);
  const sends: Promise<void>[] = [];
  const start = performance.now();
  try {
    for (let tick = 0; tick < ticks; tick++) {
      const wait = start + tick * tickMs - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const events = Array.from({ length: perTick }, (_, i) => welcomeJob(tick * perTick + i));
      // Not awaited: a slow acknowledgement must not lower the offered rate.
      sends.push(producer.sendEvents(events));
    }
    await Promise.all(sends);
  } finally {
    await producer.disconnect();
  }
}

/**
 * `ensureTopic`, tried again when it fails: right after creating a topic,
 * kafkajs's wait for leaders can meet "This server does not host this
 * topic-partition" (Kafka 4.4) and gives up on it instead of waiting.
 */
async function createTopic(options: Parameters<typeof ensureTopic>[0]): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await ensureTopic(options);
      return;
    } catch (error) {
      if (attempt === 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

function baseSpec(
  variant: ChildSpec["variant"],
  brokers: string[],
  topic: string,
  overrides: Partial<ChildSpec> = {},
): ChildSpec {
  return {
    variant,
    brokers,
    topic,
    group: `bench-${variant}-${crypto.randomUUID().slice(0, 8)}`,
    jobs: settings.jobs,
    workMs: [0, 0],
    poolSize: 100,
    partitionsConsumedConcurrently: settings.partitions,
    warmupJobs: 0,
    ...(settings.maxWaitTimeMs === undefined ? {} : { maxWaitTimeMs: settings.maxWaitTimeMs }),
    fixRequestQueue: settings.fixBaselines,
    ...overrides,
  };
}

/** The run with the median throughput. */
function median(results: readonly ChildResult[]): ChildResult {
  const sorted = [...results].sort((a, b) => a.jobsPerSecond - b.jobsPerSecond);
  const middle = sorted[Math.floor(sorted.length / 2)];
  if (!middle) throw new Error("No benchmark run to take the median of");
  return middle;
}

const peakMb = (
  results: readonly ChildResult[],
  field: "peakRssBytes" | "peakHeapUsedBytes" = "peakRssBytes",
) => Math.round(Math.max(...results.map((result) => result[field])) / 1024 / 1024);
const fixed = (value: number, digits = 0) => value.toFixed(digits);
const cpuPerThousand = (result: ChildResult) =>
  result.cpuMs === undefined ? "n/a" : fixed((result.cpuMs / result.jobs) * 1000, 1);

async function main(): Promise<void> {
  const logDir = await Deno.makeTempDir({ prefix: "jobpool-bench-" });
  console.error(`Starting Kafka (logs in ${logDir})...`);
  const broker = await startKafka({ logDir });
  try {
    const brokers = broker.brokers;
    const kafka = loadConfig({ KAFKA_BROKERS: brokers.join(",") }).kafka;
    const run = crypto.randomUUID().slice(0, 8);
    const topics = {
      throughput: `bench-throughput-${run}`,
      parallel: `bench-parallel-${run}`,
      latency: `bench-latency-${run}`,
      latencyBaseline: `bench-latency-baseline-${run}`,
    };
    await createTopic({ kafka, topic: topics.throughput, partitions: settings.partitions });
    await createTopic({ kafka, topic: topics.parallel, partitions: 1 });
    await createTopic({ kafka, topic: topics.latency, partitions: settings.partitions });
    await createTopic({ kafka, topic: topics.latencyBaseline, partitions: settings.partitions });

    console.error(`Enqueueing ${settings.jobs} + ${settings.parallelJobs} jobs...`);
    for (
      const [topic, count] of [
        [topics.throughput, settings.jobs],
        [topics.parallel, settings.parallelJobs],
      ] as const
    ) {
      const producer = await createJobProducer({ kafka: { ...kafka, topic } });
      try {
        for (let from = 0; from < count; from += 1000) {
          const size = Math.min(1000, count - from);
          await producer.sendEvents(Array.from({ length: size }, (_, i) => welcomeJob(from + i)));
        }
      } finally {
        await producer.disconnect();
      }
    }

    console.error(`Throughput (no-op handler), ${settings.runs} runs each...`);
    // Interleaved runs, median kept: the machine's other load hits every
    // variant alike instead of whichever happened to run during it.
    const runs: Record<"jobpool" | "eachBatch" | "eachMessage", ChildResult[]> = {
      jobpool: [],
      eachBatch: [],
      eachMessage: [],
    };
    for (let round = 0; round < settings.runs; round++) {
      for (const variant of ["jobpool", "eachBatch", "eachMessage"] as const) {
        runs[variant].push(await runChild(baseSpec(variant, brokers, topics.throughput)));
      }
    }
    const throughput = {
      jobpool: median(runs.jobpool),
      eachBatch: median(runs.eachBatch),
      eachMessage: median(runs.eachMessage),
    };

    console.error("Parallelism on one partition (1000 keys, 0-5 ms per job)...");
    const parallelSpec = { workMs: [0, 5] as [number, number], jobs: settings.parallelJobs };
    const parallelRuns: ChildResult[] = [];
    for (let round = 0; round < settings.runs; round++) {
      parallelRuns.push(
        await runChild(baseSpec("jobpool", brokers, topics.parallel, parallelSpec)),
      );
    }
    const parallel = {
      jobpool: median(parallelRuns),
      eachMessage: await runChild(
        baseSpec("eachMessage", brokers, topics.parallel, {
          ...parallelSpec,
          jobs: Math.min(1000, settings.parallelJobs),
        }),
      ),
    };

    console.error(`Latency at ${settings.rate} jobs/s for ${settings.seconds} s...`);
    const latencyRun = (variant: ChildSpec["variant"], topic: string) =>
      runChild(
        baseSpec(variant, brokers, topic, {
          jobs: settings.rate * settings.seconds,
          // The first second covers the consumer's first fetches.
          warmupJobs: settings.rate,
        }),
        () => enqueueAtRate({ ...kafka, topic }, settings.rate, settings.seconds),
      );
    const latency = await latencyRun("jobpool", topics.latency);
    // The same through a plain consumer: what kafkajs and the broker cost alone.
    const latencyBaseline = await latencyRun("eachMessage", topics.latencyBaseline);

    const report = {
      date: new Date().toISOString(),
      kafka: broker.version,
      deno: Deno.version.deno,
      settings: { ...settings, workerV8Flags: WORKER_V8_FLAGS },
      throughput: {
        ...throughput,
        runs: Object.fromEntries(
          Object.entries(runs).map(([variant, results]) => [
            variant,
            results.map((result) => Math.round(result.jobsPerSecond)),
          ]),
        ),
        ratioToEachBatch: throughput.jobpool.jobsPerSecond / throughput.eachBatch.jobsPerSecond,
        ratioToEachMessage: throughput.jobpool.jobsPerSecond /
          throughput.eachMessage.jobsPerSecond,
      },
      parallel: {
        ...parallel,
        runs: parallelRuns.map((result) => Math.round(result.elapsedMs)),
        speedup: parallel.jobpool.jobsPerSecond / parallel.eachMessage.jobsPerSecond,
      },
      latency,
      latencyBaseline,
      // The peak over every run of a variant, not just the median one.
      peakRssMb: {
        jobpool: peakMb([...runs.jobpool, ...parallelRuns, latency]),
        eachBatch: peakMb(runs.eachBatch),
        eachMessage: peakMb(runs.eachMessage),
      },
      peakHeapUsedMb: {
        jobpool: peakMb([...runs.jobpool, ...parallelRuns, latency], "peakHeapUsedBytes"),
        eachBatch: peakMb(runs.eachBatch, "peakHeapUsedBytes"),
        eachMessage: peakMb(runs.eachMessage, "peakHeapUsedBytes"),
      },
      targets: {
        throughputVsEachBatch: ">= 0.9",
        throughputVsEachMessage: ">= 1.5",
        parallelTenThousandJobsMs: "<= 1000",
        latencyP99Ms: "<= 25",
        rssMb: "<= 200",
      },
    };
    printReport(report);
    const resultsDir = join(HERE, "results");
    await Deno.mkdir(resultsDir, { recursive: true });
    await Deno.writeTextFile(
      join(resultsDir, "worker.json"),
      `${JSON.stringify(report, null, 2)}\n`,
    );
    console.log(`\nWrote ${join("test", "bench", "results", "worker.json")}`);
  } finally {
    await broker.stop();
  }
}

function printReport(report: {
  settings: typeof settings & { workerV8Flags: string[] };
  throughput: Record<"jobpool" | "eachBatch" | "eachMessage", ChildResult> & {
    ratioToEachBatch: number;
    ratioToEachMessage: number;
  };
  parallel: Record<"jobpool" | "eachMessage", ChildResult> & { speedup: number };
  latency: ChildResult;
  latencyBaseline: ChildResult;
  peakRssMb: Record<"jobpool" | "eachBatch" | "eachMessage", number>;
  peakHeapUsedMb: Record<"jobpool" | "eachBatch" | "eachMessage", number>;
}): void {
  const { throughput, parallel, latency, latencyBaseline, peakRssMb, peakHeapUsedMb } = report;
  const rows: string[][] = [
    ["measure", "jobpool", "eachBatch", "eachMessage", "ratio", "target"],
    [
      `throughput, ${report.settings.jobs} jobs, ${report.settings.partitions} partitions (jobs/s)`,
      fixed(throughput.jobpool.jobsPerSecond),
      fixed(throughput.eachBatch.jobsPerSecond),
      fixed(throughput.eachMessage.jobsPerSecond),
      `${fixed(throughput.ratioToEachBatch, 2)}x / ${fixed(throughput.ratioToEachMessage, 2)}x`,
      ">= 0.9x / >= 1.5x",
    ],
    [
      "  CPU per 1000 jobs (ms, user + system)",
      cpuPerThousand(throughput.jobpool),
      cpuPerThousand(throughput.eachBatch),
      cpuPerThousand(throughput.eachMessage),
      "",
      "",
    ],
    [
      `1 partition, ${KEYS} keys, 0-5 ms work (jobs/s)`,
      fixed(parallel.jobpool.jobsPerSecond),
      "",
      fixed(parallel.eachMessage.jobsPerSecond),
      `${fixed(parallel.speedup, 1)}x`,
      "",
    ],
    [
      `  time for ${parallel.jobpool.jobs} jobs, pool 100 (ms)`,
      fixed(parallel.jobpool.elapsedMs),
      "",
      "",
      "",
      "<= 1000",
    ],
    [
      `enqueue-to-start p50 / p99 at ${report.settings.rate}/s (ms)`,
      `${fixed(latency.latencyMs.p50)} / ${fixed(latency.latencyMs.p99)}`,
      "",
      `${fixed(latencyBaseline.latencyMs.p50)} / ${fixed(latencyBaseline.latencyMs.p99)}`,
      "",
      "p99 <= 25",
    ],
    [
      "peak RSS (MB)",
      String(peakRssMb.jobpool),
      String(peakRssMb.eachBatch),
      String(peakRssMb.eachMessage),
      "",
      "<= 200",
    ],
    [
      "  of which V8 heap in use (MB)",
      String(peakHeapUsedMb.jobpool),
      String(peakHeapUsedMb.eachBatch),
      String(peakHeapUsedMb.eachMessage),
      "",
      "",
    ],
  ];
  const widths = rows[0]!.map((_, column) =>
    Math.max(...rows.map((row) => (row[column] ?? "").length))
  );
  for (const row of rows) {
    console.log(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ").trimEnd());
  }
  const flags = report.settings.workerV8Flags;
  console.log(
    `\njobpool ran with ${
      flags.length === 0 ? "no V8 flags" : flags.join(" ")
    } (deno task worker);` +
      " the kafkajs consumers with Deno's defaults, " +
      (report.settings.fixBaselines
        ? "and with jobpool's fix of kafkajs's idle request-queue loop."
        : "and without jobpool's fix of kafkajs's idle request-queue loop."),
  );
}

if (import.meta.main) await main();
