/**
 * `deno task bridge`: moves the jobs waiting in the legacy BullMQ queues onto
 * the Kafka job topic, for the final switch. Safe to run again, and to kill.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Env, loadTransportConfig } from "../config/mod.ts";
import { legacyQueues } from "../transport/mod.ts";
import { createKafkaClient } from "../kafka/mod.ts";
import { type BridgeProgress, runBridge } from "../legacy/mod.ts";

export type { BridgeProgress };
import { EXIT, parseCount, requireTopic, runCli, withAdmin } from "./common.ts";

const HELP = `Usage: deno task bridge [options]

Moves the jobs waiting in the legacy BullMQ queues (BULLMQ_REDIS_URL,
BULLMQ_PREFIX, BULLMQ_QUEUE, BULLMQ_QUEUE_BY_TYPE) onto the Kafka job topic
(KAFKA_BROKERS, KAFKA_JOB_TOPIC) as job events, oldest first. A job that is not
a valid job event is reported with the reason and left in its queue. Running it
again sends nothing twice; a run killed at any point loses nothing.

Stop the legacy workers first (or they keep taking jobs while the bridge moves
them: such a job runs once anyway, but in Redis).

Options:
  --queue <name>       a queue to move (repeatable)     default: every configured queue
  --delayed            move delayed jobs too; they run as soon as they reach Kafka
  --batch-size <n>     jobs per Kafka batch             default: 500
  -h, --help           show this help

Exit codes: 0 every job moved, 1 invalid jobs left in Redis (listed) or an
error, 2 bad arguments or configuration.`;

/** The parsed command line of `bridge`. */
export interface BridgeArgs {
  /** `--help` was given. */
  help: boolean;
  /** Queues named with `--queue`; empty for every configured queue. */
  queues: string[];
  /** `--delayed`. */
  delayed: boolean;
  /** `--batch-size`. */
  batchSize: number;
}

/** Parses `bridge`'s arguments. */
export function parseBridgeArgs(args: string[]): BridgeArgs {
  const { values } = parseArgs({
    args,
    options: {
      queue: { type: "string", multiple: true, default: [] },
      delayed: { type: "boolean", default: false },
      "batch-size": { type: "string", default: "500" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  return {
    help: values.help,
    queues: values.queue,
    delayed: values.delayed,
    batchSize: parseCount(values["batch-size"], "--batch-size", 1),
  };
}

/** The progress line: `bull:jobs → job-events: 1200 of 5000 moved (24%), 3 invalid, 850 jobs/s`. */
export function formatBridgeProgress(
  progress: BridgeProgress,
  context: { route: string; elapsedMs: number },
): string {
  const percent = progress.total === 0 ? 100 : Math.min(
    100,
    Math.floor(((progress.moved + progress.invalid + progress.recovered) / progress.total) * 100),
  );
  const rate = Math.round(progress.moved / Math.max(0.001, context.elapsedMs / 1000));
  return `${context.route}: ${progress.moved} of ${progress.total} moved (${percent}%), ` +
    `${progress.invalid} invalid, ${rate} jobs/s`;
}

async function main(args: string[], env: Env): Promise<number> {
  const parsed = parseBridgeArgs(args);
  if (parsed.help) {
    console.log(HELP);
    return EXIT.ok;
  }
  const config = loadTransportConfig(env);
  const { legacy } = config;
  const queues = parsed.queues.length > 0 ? parsed.queues : legacyQueues(legacy);
  const kafka = createKafkaClient(config.kafka, { clientId: `${config.kafka.clientId}-bridge` });
  await withAdmin(kafka, (admin) => requireTopic(admin, config.kafka.topic, "KAFKA_JOB_TOPIC"));
  const route = `${
    queues.map((queue) => `${legacy.prefix}:${queue}`).join(", ")
  } → ${config.kafka.topic}`;
  const started = performance.now();
  const stopping = new AbortController();
  const onSignal = () => stopping.abort(new Error("Stopped by a signal after the current batch"));
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const run = runBridge({
    kafka,
    topic: config.kafka.topic,
    legacy,
    queues,
    delayed: parsed.delayed,
    batchSize: parsed.batchSize,
    signal: stopping.signal,
    onInvalid: (job) =>
      console.log(
        `invalid  ${legacy.prefix}:${job.queue}  job ${job.jobId} (${job.name}): ${job.reason}`,
      ),
    onNotice: (text) => console.error(text),
  });
  const line = () =>
    formatBridgeProgress(run.progress, { route, elapsedMs: performance.now() - started });
  const timer = setInterval(() => console.error(line()), 1_000);
  try {
    const result = await run.done;
    console.error(line());
    if (result.recovered > 0) {
      console.error(
        `${result.recovered} job(s) of an earlier run's last batch were already in Kafka`,
      );
    }
    if (result.invalid > 0) {
      console.error(
        `${result.invalid} invalid job(s) left in Redis (listed above): fix or remove them, then run again`,
      );
      return EXIT.failed;
    }
    return EXIT.ok;
  } finally {
    clearInterval(timer);
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

if (import.meta.main) await runCli((args) => main(args, Deno.env.toObject()));
