/**
 * `deno task bench:worker`: the worker against plain kafkajs consumers on a
 * real broker, in one run. Not a test: it prints a table and writes
 * `test/bench/results/worker.json`.
 *
 * 1. Throughput and CPU per job, no-op handler, same topic and data, rounds
 *    interleaved (each contestant once per round, a fresh group each time,
 *    the order rotated from round to round),
 *    medians of the per-round ratios:
 *    - `jobpool`: the worker, full validation on (`decodeJobEvent`) and its
 *      Prometheus metrics kept per job, as `deno task worker` runs it;
 *    - `eachBatch`: the plain kafkajs consumer a user would write, which only
 *      `JSON.parse`s (the baseline of issue 12's targets);
 *    - `eachBatch+validation`: the same with jobpool's validation;
 *    - `eachMessage`: `partitionsConsumedConcurrently`, with the validation;
 *    - `eachBatchFixed`: `eachBatch` on jobpool's kafkajs (its request-queue
 *      fix and faster record decoder, `src/kafka/`): a baseline that shares
 *      jobpool's own kafkajs costs, shown so that the gain of the decoder and
 *      the cost of the pipeline can be told apart.
 * 2. Parallelism beyond partitions: one partition, 1000 keys, 0–5 ms of async
 *    work per job, pool 100; the mean number of jobs in their handler shows
 *    whether the pool fills.
 * 3. Keys in runs: one partition, 100 keys each with 100 messages in a row,
 *    0–5 ms of work, pool 100: keys beyond their share of the buffer are
 *    deferred and fetched again (a seek), at fetch waits of 100 ms, the
 *    default 500 ms and kafkajs's 5 s, so a seek that waits out a long poll
 *    shows as time; then with a buffer of 20, where the partition pauses
 *    and resumes, at 500 ms and 5 s.
 * 4. Enqueue-to-start latency at a fixed rate through the job producer, and
 *    the peak RSS of that steady run.
 * 5. Peak RSS of each consumer process during the flood (each variant runs in
 *    a process of its own; jobpool's with the V8 flags of `deno task worker`).
 *
 * Usage: `deno task bench:worker [--jobs 200000] [--partitions 10]
 * [--parallel-jobs 10000] [--rate 1000] [--seconds 10] [--runs 5] [--max-wait-ms N]
 * [--fix-baselines]`; `--max-wait-ms` sets the worker's fetch `maxWaitTime`
 * in 1, 2 and 4 (its default otherwise). jobpool's clients carry its fix of
 * kafkajs's idle request-queue loop (`src/kafka/request_queue_fix.ts`); the
 * plain kafkajs consumers get it too with `--fix-baselines` (`eachBatchFixed`
 * always has it).
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
import { workerV8Flags } from "../env/worker_flags.ts";
import type { ChildResult, ChildSpec } from "./worker_bench_child.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(HERE, "..", "..");
const KEYS = 1000;

/**
 * The V8 flags of `deno task worker` (and of the worker image): the jobpool
 * consumer runs with them, as deployed; the plain kafkajs consumers run with
 * Deno's defaults.
 */
const WORKER_V8_FLAGS = workerV8Flags();

const { values } = parseArgs({
  args: Deno.args,
  options: {
    jobs: { type: "string", default: "200000" },
    partitions: { type: "string", default: "10" },
    "parallel-jobs": { type: "string", default: "10000" },
    rate: { type: "string", default: "1000" },
    seconds: { type: "string", default: "10" },
    runs: { type: "string", default: "5" },
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

function welcomeJob(
  index: number,
  timestamp = new Date(),
  campaignId = campaigns[index % KEYS] ?? "",
): JobEvent {
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

/**
 * The cases of the keys-in-runs measure: three fetch waits with the default
 * buffer (keys beyond their share are deferred and fetched again), and two
 * with a buffer of 20, where a partition pauses at 200 deferred messages and
 * resumes once they ran: a resume that waited out the fetch wait in flight
 * would make the 5 s case slower than the 500 ms one.
 */
function keyRunSettings(): ({ label: string } & Partial<ChildSpec>)[] {
  return [
    ...[100, 500, 5000].map((maxWaitTimeMs) => ({
      label: `fetch wait ${maxWaitTimeMs} ms`,
      maxWaitTimeMs,
    })),
    ...[500, 5000].map((maxWaitTimeMs) => ({
      label: `buffer 20 (pauses), fetch wait ${maxWaitTimeMs} ms`,
      maxWaitTimeMs,
      bufferSize: 20,
    })),
  ];
}

/** `items` starting at index `by` (modulo its length), wrapping around. */
function rotated<T>(items: readonly T[], by: number): T[] {
  const start = by % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}

/** The run with the median throughput. */
function median(results: readonly ChildResult[]): ChildResult {
  const sorted = [...results].sort((a, b) => a.jobsPerSecond - b.jobsPerSecond);
  const middle = sorted[Math.floor(sorted.length / 2)];
  if (!middle) throw new Error("No benchmark run to take the median of");
  return middle;
}

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? sorted[middle]!
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

const peakMb = (
  results: readonly ChildResult[],
  field: "peakRssBytes" | "peakHeapUsedBytes" = "peakRssBytes",
) => Math.round(Math.max(...results.map((result) => result[field])) / 1024 / 1024);
const fixed = (value: number, digits = 0) => value.toFixed(digits);
const cpuPerThousand = (result: ChildResult) =>
  result.cpuMs === undefined ? Number.NaN : (result.cpuMs / result.jobs) * 1000;

const VARIANTS = [
  "jobpool",
  "eachBatch",
  "eachBatchValidated",
  "eachMessage",
  "eachBatchFixed",
] as const;
type Variant = typeof VARIANTS[number];
const LABELS: Record<Variant, string> = {
  jobpool: "jobpool (validation on)",
  eachBatch: "eachBatch, JSON.parse only",
  eachBatchValidated: "eachBatch + jobpool's validation",
  eachMessage: "eachMessage x partitions + validation",
  eachBatchFixed: "eachBatch, JSON.parse only, jobpool's kafkajs fixes",
};

/** Sends `count` jobs to `topic`; `keyOf(i)` picks each job's campaign. */
async function enqueue(
  kafka: ReturnType<typeof loadConfig>["kafka"],
  topic: string,
  count: number,
  keyOf: (index: number) => string,
): Promise<void> {
  const producer = await createJobProducer({ kafka: { ...kafka, topic } });
  try {
    for (let from = 0; from < count; from += 1000) {
      const size = Math.min(1000, count - from);
      await producer.sendEvents(
        Array.from({ length: size }, (_, i) => welcomeJob(from + i, new Date(), keyOf(from + i))),
      );
    }
  } finally {
    await producer.disconnect();
  }
}

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
      runs: `bench-runs-${run}`,
      latency: `bench-latency-${run}`,
      latencyBaseline: `bench-latency-baseline-${run}`,
    };
    await createTopic({ kafka, topic: topics.throughput, partitions: settings.partitions });
    await createTopic({ kafka, topic: topics.parallel, partitions: 1 });
    await createTopic({ kafka, topic: topics.runs, partitions: 1 });
    await createTopic({ kafka, topic: topics.latency, partitions: settings.partitions });
    await createTopic({ kafka, topic: topics.latencyBaseline, partitions: settings.partitions });

    console.error(`Enqueueing ${settings.jobs} + 2 x ${settings.parallelJobs} jobs...`);
    const keyRuns = campaigns.slice(0, 100);
    const runLength = Math.max(1, Math.floor(settings.parallelJobs / keyRuns.length));
    await enqueue(kafka, topics.throughput, settings.jobs, (i) => campaigns[i % KEYS]!);
    await enqueue(kafka, topics.parallel, settings.parallelJobs, (i) => campaigns[i % KEYS]!);
    await enqueue(
      kafka,
      topics.runs,
      settings.parallelJobs,
      (i) => keyRuns[Math.floor(i / runLength) % keyRuns.length]!,
    );

    console.error(`Throughput (no-op handler), ${settings.runs} interleaved rounds...`);
    const runs = Object.fromEntries(VARIANTS.map((v) => [v, [] as ChildResult[]])) as Record<
      Variant,
      ChildResult[]
    >;
    for (let round = 0; round < settings.runs; round++) {
      // Each round starts with another contestant, so that none always runs
      // first (or right after the same neighbour) on a machine that drifts.
      for (const variant of rotated(VARIANTS, round)) {
        runs[variant].push(await runChild(baseSpec(variant, brokers, topics.throughput)));
      }
      console.error(
        `  round ${round + 1}: ` +
          VARIANTS.map((v) => `${v} ${fixed(runs[v][round]!.jobsPerSecond)}/s`).join(", "),
      );
    }
    const throughput = Object.fromEntries(VARIANTS.map((v) => [v, median(runs[v])])) as Record<
      Variant,
      ChildResult
    >;
    /** Per-round ratios of jobpool to `variant`, median over the rounds. */
    const ratios = (variant: Variant) => {
      const rounds = runs.jobpool.map((jobpool, round) => {
        const other = runs[variant][round]!;
        return {
          throughput: jobpool.jobsPerSecond / other.jobsPerSecond,
          cpu: cpuPerThousand(jobpool) / cpuPerThousand(other),
        };
      });
      return {
        throughput: medianOf(rounds.map((r) => r.throughput)),
        cpu: medianOf(rounds.map((r) => r.cpu)),
        rounds,
      };
    };
    const ratioTo = {
      eachBatch: ratios("eachBatch"),
      eachBatchValidated: ratios("eachBatchValidated"),
      eachMessage: ratios("eachMessage"),
      eachBatchFixed: ratios("eachBatchFixed"),
    };
    const cpuMedian = Object.fromEntries(
      VARIANTS.map((v) => [v, medianOf(runs[v].map(cpuPerThousand))]),
    ) as Record<Variant, number>;

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

    console.error(`Keys in runs of ${runLength} (one partition, 0-5 ms per job)...`);
    const keyRunCases = keyRunSettings();
    const keyRunResults: Record<string, ChildResult[]> = {};
    for (let round = 0; round < Math.min(3, settings.runs); round++) {
      for (const { label, ...overrides } of keyRunCases) {
        (keyRunResults[label] ??= []).push(
          await runChild(
            baseSpec("jobpool", brokers, topics.runs, { ...parallelSpec, ...overrides }),
          ),
        );
      }
    }
    const keyRuns_ = Object.fromEntries(
      keyRunCases.map(({ label }) => [label, median(keyRunResults[label] ?? [])]),
    ) as Record<string, ChildResult>;

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
      loadAverage: Deno.loadavg(),
      settings: { ...settings, workerV8Flags: WORKER_V8_FLAGS },
      labels: LABELS,
      throughput: {
        ...throughput,
        runs: Object.fromEntries(
          VARIANTS.map((v) => [v, runs[v].map((result) => Math.round(result.jobsPerSecond))]),
        ),
        cpuPerThousandJobsMs: Object.fromEntries(
          VARIANTS.map((v) => [v, runs[v].map((r) => Number(fixed(cpuPerThousand(r), 2)))]),
        ),
        cpuMedianMs: cpuMedian,
        ratioTo,
      },
      parallel: {
        ...parallel,
        runs: parallelRuns.map((result) => Math.round(result.elapsedMs)),
        speedup: parallel.jobpool.jobsPerSecond / parallel.eachMessage.jobsPerSecond,
      },
      keyRuns: {
        keys: keyRuns.length,
        runLength,
        byCase: keyRuns_,
        runsMs: Object.fromEntries(
          keyRunCases.map(({ label }) => [
            label,
            (keyRunResults[label] ?? []).map((r) => Math.round(r.elapsedMs)),
          ]),
        ),
      },
      latency,
      latencyBaseline,
      peakRssMb: {
        flood: Object.fromEntries(VARIANTS.map((v) => [v, peakMb(runs[v])])),
        steady: { jobpool: peakMb([latency]), eachMessage: peakMb([latencyBaseline]) },
      },
      peakHeapUsedMb: Object.fromEntries(
        VARIANTS.map((v) => [v, peakMb(runs[v], "peakHeapUsedBytes")]),
      ),
      targets: {
        throughputVsEachBatch: ">= 0.9",
        cpuVsEachBatch: "<= 1.2",
        parallelTenThousandJobsMs: "<= 1000",
        floodRssMb: "<= 200",
        steadyRssMb: "<= 120",
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
  loadAverage: number[];
  throughput: Record<Variant, ChildResult> & {
    cpuMedianMs: Record<Variant, number>;
    ratioTo: Record<Exclude<Variant, "jobpool">, { throughput: number; cpu: number }>;
  };
  parallel: Record<"jobpool" | "eachMessage", ChildResult> & { speedup: number };
  keyRuns: { keys: number; runLength: number; byCase: Record<string, ChildResult> };
  latency: ChildResult;
  latencyBaseline: ChildResult;
  peakRssMb: { flood: Record<string, number>; steady: Record<string, number> };
}): void {
  const { throughput, parallel, keyRuns, latency, latencyBaseline, peakRssMb } = report;
  const rows: string[][] = [[
    `no-op handler, ${report.settings.jobs} jobs, ${report.settings.partitions} partitions`,
    "jobs/s",
    "CPU ms / 1000 jobs",
    "peak RSS MB",
    "jobpool ÷ it: jobs/s",
    "CPU",
  ]];
  for (const variant of VARIANTS) {
    const ratio = variant === "jobpool" ? undefined : throughput.ratioTo[variant];
    rows.push([
      LABELS[variant],
      fixed(throughput[variant].jobsPerSecond),
      fixed(throughput.cpuMedianMs[variant], 2),
      String(peakRssMb.flood[variant]),
      ratio ? `${fixed(ratio.throughput, 2)}x` : "",
      ratio ? `${fixed(ratio.cpu, 2)}x` : "",
    ]);
  }
  printTable(rows);
  console.log(
    "(targets against eachBatch, JSON.parse only: jobs/s >= 0.9x, CPU <= 1.2x, RSS <= 200 MB)\n",
  );
  printTable([
    ["measure", "jobpool", "eachMessage", "target"],
    [
      `1 partition, ${KEYS} keys, 0-5 ms, pool 100: time for ${parallel.jobpool.jobs} jobs (ms)`,
      fixed(parallel.jobpool.elapsedMs),
      `${fixed(parallel.speedup, 1)}x slower`,
      "<= 1000",
    ],
    [
      "  jobs in their handler, mean / max",
      `${fixed(parallel.jobpool.inFlight.mean, 1)} / ${parallel.jobpool.inFlight.max}`,
      "",
      "",
    ],
    ...Object.entries(keyRuns.byCase).map(([label, result]) => [
      `${keyRuns.keys} keys in runs of ${keyRuns.runLength}, ${label} (ms; mean / max in handler; seeks / pauses)`,
      `${fixed(result.elapsedMs)}; ${fixed(result.inFlight.mean, 1)} / ${result.inFlight.max}; ${
        result.fetchControl?.seeks ?? "?"
      } / ${result.fetchControl?.pauses ?? "?"}`,
      "",
      "",
    ]),
    [
      `enqueue-to-start p50 / p99 at ${report.settings.rate}/s (ms)`,
      `${fixed(latency.latencyMs.p50)} / ${fixed(latency.latencyMs.p99)}`,
      `${fixed(latencyBaseline.latencyMs.p50)} / ${fixed(latencyBaseline.latencyMs.p99)}`,
      "",
    ],
    [
      `  peak RSS at ${report.settings.rate}/s (MB)`,
      String(peakRssMb.steady.jobpool),
      String(peakRssMb.steady.eachMessage),
      "<= 120",
    ],
  ]);
  const flags = report.settings.workerV8Flags;
  console.log(
    `\njobpool ran with ${
      flags.length === 0 ? "no V8 flags" : flags.join(" ")
    } (deno task worker); the kafkajs consumers with Deno's defaults, ` +
      (report.settings.fixBaselines ? "with" : "without") +
      ` jobpool's fix of kafkajs's idle request-queue loop. Load average at the end: ${
        report.loadAverage.map((l) => l.toFixed(2)).join(", ")
      }.`,
  );
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, column) =>
    Math.max(...rows.map((row) => (row[column] ?? "").length))
  );
  for (const row of rows) {
    console.log(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ").trimEnd());
  }
}

if (import.meta.main) await main();
