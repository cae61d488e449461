/**
 * One consumer of `deno task bench:worker`, run in a process of its own so
 * that every variant starts cold and its RSS is its own: the jobpool worker,
 * a raw kafkajs `eachBatch` consumer or a hand-written `eachMessage` one.
 *
 * Usage: `deno run -A worker_bench_child.ts '<ChildSpec as JSON>'`. Prints
 * `READY` once it consumes, then one `RESULT <ChildResult as JSON>` line.
 *
 * @module
 */

import type { Buffer } from "node:buffer";
import { Kafka, logLevel } from "kafkajs";
import { loadConfig } from "../../src/config/mod.ts";
import { decodeJobEvent, type JobEvent, prepareJobDecoder } from "../../src/jobs/mod.ts";
import {
  fixKafkaRequestQueue,
  kafkajsConsumerGroup,
  useFastRecordDecoder,
} from "../../src/kafka/mod.ts";
import { createWorkerMetrics } from "../../src/observability/mod.ts";
import { runWorker } from "../../src/worker/mod.ts";

/** What one child consumes and how. */
export interface ChildSpec {
  variant: "jobpool" | "eachBatch" | "eachBatchFixed" | "eachBatchValidated" | "eachMessage";
  brokers: string[];
  topic: string;
  group: string;
  /** Stop after this many jobs started. */
  jobs: number;
  /** Simulated async work per job, uniformly in [min, max] ms; none when max is 0. */
  workMs: [number, number];
  /** jobpool's pool size. */
  poolSize: number;
  /** kafkajs `partitionsConsumedConcurrently` of the baselines. */
  partitionsConsumedConcurrently: number;
  /** Latencies of the first this many jobs are left out (warm-up). */
  warmupJobs: number;
  /** jobpool's `group.maxWaitTimeMs`; the worker's default when absent. */
  maxWaitTimeMs?: number;
  /** jobpool's `KAFKA_WORKER_BUFFER_SIZE`; the default when absent. */
  bufferSize?: number;
  /** jobpool's `group.fetchMaxBytes`; the worker's default when absent. */
  fetchMaxBytes?: number;
  /** Baselines only: apply jobpool's fix of kafkajs's idle request-queue loop. */
  fixRequestQueue?: boolean;
}

/** What a child measured. */
export interface ChildResult {
  variant: ChildSpec["variant"];
  jobs: number;
  /** From the first job's start to the last job's end. */
  elapsedMs: number;
  jobsPerSecond: number;
  /** Enqueue (the event's timestamp) to handler start, after warm-up. */
  latencyMs: { p50: number; p99: number; max: number; samples: number };
  /** Jobs in their handler when each job started (the pool's real concurrency). */
  inFlight: { mean: number; max: number };
  /** Peak resident set size while consuming. */
  peakRssBytes: number;
  /** Peak V8 heap in use while consuming: the part the code controls. */
  peakHeapUsedBytes: number;
  /**
   * CPU time (user + system, all threads) of this process from the first
   * job's start to the last job's end: steadier than wall time on a shared
   * machine. Undefined where `/proc/self/stat` is missing.
   */
  cpuMs?: number;
  /** jobpool only: partitions sought back and paused while consuming. */
  fetchControl?: { seeks: number; pauses: number };
}

const spec = JSON.parse(Deno.args[0] ?? "{}") as ChildSpec;

let started = 0;
let finished = 0;
let running = 0;
let runningSum = 0;
let runningMax = 0;
let firstStart = 0;
let lastEnd = 0;
const latencies: number[] = [];
const { promise: allDone, resolve: finish } = Promise.withResolvers<void>();

/** User + system CPU time of this process so far, in ms (Linux). */
function cpuTimeMs(): number | undefined {
  try {
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    const stat = Deno.readTextFileSync("/proc/self/stat");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

let firstCpu: number | undefined;
let lastCpu: number | undefined;
let peakRss = 0;
let peakHeapUsed = 0;
function sampleMemory(): void {
  const { rss, heapUsed } = Deno.memoryUsage();
  peakRss = Math.max(peakRss, rss);
  peakHeapUsed = Math.max(peakHeapUsed, heapUsed);
}
sampleMemory();
const rssTimer = setInterval(sampleMemory, 50);

/** The job: note when it started, how late it is, then the simulated work. */
async function handle(job: JobEvent): Promise<void> {
  const now = Date.now();
  if (started === 0) {
    firstStart = performance.now();
    firstCpu = cpuTimeMs();
  }
  if (started >= spec.warmupJobs) latencies.push(now - Date.parse(job.timestamp));
  started++;
  running++;
  runningSum += running;
  if (running > runningMax) runningMax = running;
  const [min, max] = spec.workMs;
  if (max > 0) {
    await new Promise((resolve) => setTimeout(resolve, min + Math.random() * (max - min)));
  }
  running--;
  finished++;
  if (finished === spec.jobs) {
    lastEnd = performance.now();
    lastCpu = cpuTimeMs();
    finish();
  }
}

async function runJobpool(): Promise<() => Promise<void>> {
  const config = loadConfig({
    KAFKA_BROKERS: spec.brokers.join(","),
    KAFKA_JOB_TOPIC: spec.topic,
    KAFKA_JOB_CONSUMER_GROUP: spec.group,
    KAFKA_WORKER_POOL_SIZE: String(spec.poolSize),
    KAFKA_DLQ_TOPIC: `${spec.topic}.dlq`,
    ...(spec.bufferSize === undefined ? {} : { KAFKA_WORKER_BUFFER_SIZE: String(spec.bufferSize) }),
  });
  const worker = await runWorker({
    config,
    // As deployed: the worker keeps its Prometheus metrics up to date per job.
    metrics: createWorkerMetrics(),
    handlers: { "job.email.welcome": (job) => handle(job) },
    group: {
      ...(spec.maxWaitTimeMs === undefined ? {} : { maxWaitTimeMs: spec.maxWaitTimeMs }),
      ...(spec.fetchMaxBytes === undefined ? {} : { fetchMaxBytes: spec.fetchMaxBytes }),
    },
  });
  return () => worker.stop();
}

async function runBaseline(): Promise<() => Promise<void>> {
  if (spec.fixRequestQueue) fixKafkaRequestQueue();
  // jobpool's kafkajs, as a labelled baseline: what the plain consumer costs with it.
  if (spec.variant === "eachBatchFixed") {
    fixKafkaRequestQueue();
    if (!useFastRecordDecoder()) throw new Error("kafkajs loaded its record decoder too early");
  }
  const kafka = new Kafka({
    clientId: `bench-${spec.variant}`,
    brokers: spec.brokers,
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: spec.group, allowAutoTopicCreation: false });
  await consumer.connect();
  await consumer.subscribe({ topic: spec.topic, fromBeginning: true });
  const concurrency = spec.partitionsConsumedConcurrently;
  // Like the worker, the validating consumers compile jobpool's checks before
  // the first message: a one-time cost, outside the measured window.
  if (spec.variant === "eachBatchValidated" || spec.variant === "eachMessage") prepareJobDecoder();
  if (spec.variant !== "eachMessage") {
    // The plain batch loop: parse (and, validated, check like jobpool),
    // handle, resolve, one message after the other within a partition; kafkajs
    // commits what was resolved.
    const decode = spec.variant !== "eachBatchValidated"
      ? (value: Buffer | null) => JSON.parse(value?.toString() ?? "null") as JobEvent
      : (value: Buffer | null) => decodeJobEvent(value);
    await consumer.run({
      partitionsConsumedConcurrently: concurrency,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        for (const message of batch.messages) {
          if (!isRunning() || isStale()) break;
          await handle(decode(message.value));
          resolveOffset(message.offset);
        }
        await heartbeat();
      },
    });
  } else {
    await consumer.run({
      partitionsConsumedConcurrently: concurrency,
      eachMessage: async ({ message }) => {
        await handle(decodeJobEvent(message.value));
      },
    });
  }
  return () => consumer.disconnect();
}

/** Seeks and pauses the jobpool consumer asked of kafkajs (counted on its `ConsumerGroup`). */
const fetchControl = { seeks: 0, pauses: 0 };
if (spec.variant === "jobpool") countSeeksAndPauses();

function countSeeksAndPauses(): void {
  type Method = (this: unknown, ...args: unknown[]) => unknown;
  const prototype = kafkajsConsumerGroup().prototype as unknown as { seek: Method; pause: Method };
  const { seek, pause } = prototype;
  prototype.seek = function (...args) {
    fetchControl.seeks++;
    return seek.apply(this, args);
  };
  prototype.pause = function (...args) {
    fetchControl.pauses++;
    return pause.apply(this, args);
  };
}

const stop = spec.variant === "jobpool" ? await runJobpool() : await runBaseline();
console.log("READY");
await allDone;
clearInterval(rssTimer);
sampleMemory();
const fetchControlAtEnd = { ...fetchControl };
await stop();

const sorted = latencies.sort((a, b) => a - b);
const percentile = (p: number) =>
  sorted.length === 0
    ? 0
    : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;
const elapsedMs = lastEnd - firstStart;
const result: ChildResult = {
  variant: spec.variant,
  jobs: spec.jobs,
  elapsedMs,
  jobsPerSecond: spec.jobs / (elapsedMs / 1000),
  latencyMs: {
    p50: percentile(0.5),
    p99: percentile(0.99),
    max: sorted.at(-1) ?? 0,
    samples: sorted.length,
  },
  inFlight: { mean: runningSum / Math.max(1, started), max: runningMax },
  peakRssBytes: peakRss,
  peakHeapUsedBytes: peakHeapUsed,
  ...(firstCpu === undefined || lastCpu === undefined ? {} : { cpuMs: lastCpu - firstCpu }),
  ...(spec.variant === "jobpool" ? { fetchControl: fetchControlAtEnd } : {}),
};
console.log(`RESULT ${JSON.stringify(result)}`);
Deno.exit(0);
