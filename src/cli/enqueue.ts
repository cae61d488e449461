/**
 * `deno task enqueue`: puts one or more jobs on the job topic (or the legacy
 * BullMQ queue, or both) by hand.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  type Env,
  JOB_TRANSPORTS,
  type JobTransport,
  type LegacyConfig,
  loadTransportConfig,
} from "../config/mod.ts";
import { queueFor, transportFor } from "../transport/mod.ts";
import {
  EMAIL_KINDS,
  type EmailKind,
  JOB_TYPES,
  type JobType,
  type NewJobEvent,
} from "../jobs/mod.ts";
import { createJobProducer, ensureTopic } from "../producer/mod.ts";
import { EXIT, runCli, UsageError } from "./common.ts";

const HELP = `Usage: deno task enqueue <job type> [options]

Enqueues jobs on the job topic (KAFKA_BROKERS, KAFKA_JOB_TOPIC), or where
JOB_TRANSPORT / JOB_TRANSPORT_BY_TYPE route their type (the legacy BullMQ queue
at BULLMQ_REDIS_URL, or both), and prints their event ids.

Job types:
  ${JOB_TYPES.join("\n  ")}

Options:
  --campaign <uuid>      campaign id (the message key)               required
  --account <uuid>       account id                                  default: a new uuid
  --user <uuid>          user id, for job.email.*                    required for emails
  --priority <0-10>      email priority                              default: 1
  --points <n>           points per referral, for recalculation      default: 1
  --user-reward <uuid>   user reward id, for job.reward.deliver      required for rewards
  --count <n>            enqueue n copies (each with its own id)     default: 1
  --transport <t>        kafka, bullmq or both, for this run         default: the routing
  --create-topic         create the topic first when it is missing
  -h, --help             show this help

Example:
  deno task enqueue job.email.welcome --campaign 3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f \\
    --user 9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b`;

/** The parsed command line of `enqueue`. */
export interface EnqueueArgs {
  /** `--help` was given: print the usage and do nothing else. */
  help: boolean;
  /** `--create-topic`: create the job topic first when it is missing. */
  createTopic: boolean;
  /** `--transport`: where every job of this run goes, over the configured routing. */
  transport?: JobTransport;
  /** The jobs to enqueue, validated. */
  jobs: NewJobEvent<JobType>[];
}

/** Parses `enqueue`'s arguments into the jobs to send (not yet validated by the schema). */
export function parseEnqueueArgs(args: string[]): EnqueueArgs {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      campaign: { type: "string" },
      account: { type: "string" },
      user: { type: "string" },
      priority: { type: "string", default: "1" },
      points: { type: "string", default: "1" },
      "user-reward": { type: "string" },
      count: { type: "string", default: "1" },
      transport: { type: "string" },
      "create-topic": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return { help: true, createTopic: false, jobs: [] };
  const type = positionals[0];
  if (!type || !(JOB_TYPES as readonly string[]).includes(type)) {
    throw new UsageError(
      `Unknown job type ${JSON.stringify(type ?? "")}: expected one of ${JOB_TYPES.join(", ")}`,
    );
  }
  const campaignId = need(values.campaign, "--campaign");
  const accountId = values.account ?? crypto.randomUUID();
  const count = integer(values.count, "--count");
  const job = buildJob(type as JobType, { campaignId, accountId, values });
  const transport = values.transport;
  if (transport !== undefined && !(JOB_TRANSPORTS as readonly string[]).includes(transport)) {
    throw new UsageError(
      `--transport must be one of ${JOB_TRANSPORTS.join(", ")}, got "${transport}"`,
    );
  }
  return {
    help: false,
    createTopic: values["create-topic"],
    ...(transport === undefined ? {} : { transport: transport as JobTransport }),
    jobs: Array.from({ length: count }, () => ({ ...job })),
  };
}

function buildJob(
  type: JobType,
  context: {
    campaignId: string;
    accountId: string;
    values: { user?: string; priority: string; points: string; "user-reward"?: string };
  },
): NewJobEvent<JobType> {
  const { campaignId, accountId, values } = context;
  if (type === "job.position.recalculate") {
    return {
      type,
      accountId,
      campaignId,
      data: { campaign_id: campaignId, points_per_referral: integer(values.points, "--points") },
    };
  }
  if (type === "job.reward.deliver") {
    return {
      type,
      accountId,
      campaignId,
      data: { user_reward_id: need(values["user-reward"], "--user-reward") },
    };
  }
  const kind = type.slice("job.email.".length) as EmailKind;
  if (!EMAIL_KINDS.includes(kind)) throw new UsageError(`Unknown email job type ${type}`);
  return {
    type,
    accountId,
    campaignId,
    data: {
      type: kind,
      campaign_id: campaignId,
      user_id: need(values.user, "--user"),
      priority: integer(values.priority, "--priority"),
    },
  } as NewJobEvent<JobType>;
}

function need(value: string | undefined, flag: string): string {
  if (!value) throw new UsageError(`Missing ${flag}: see --help`);
  return value;
}

function integer(value: string, flag: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a whole number, got "${value}"`);
  return Number(value);
}

async function main(args: string[], env: Env): Promise<number> {
  const parsed = parseEnqueueArgs(args);
  if (parsed.help) {
    console.log(HELP);
    return EXIT.ok;
  }
  const config = loadTransportConfig(env);
  const legacy: LegacyConfig = parsed.transport === undefined
    ? config.legacy
    : { ...config.legacy, transport: parsed.transport, transportByType: {} };
  const type = parsed.jobs[0]?.type ?? "job.email.welcome";
  const transport = transportFor(legacy, type);
  if (parsed.createTopic && transport !== "bullmq") await ensureTopic({ kafka: config.kafka });
  const producer = await createJobProducer({ kafka: config.kafka, legacy });
  try {
    const ids = await producer.enqueueMany(parsed.jobs);
    for (const id of ids) console.log(id);
    const where = [
      transport === "bullmq" ? [] : [`Kafka topic ${config.kafka.topic}`],
      transport === "kafka" ? [] : [`BullMQ queue ${legacy.prefix}:${queueFor(legacy, type)}`],
    ].flat().join(" and ");
    console.error(`Enqueued ${ids.length} ${type} job(s) on ${where}`);
    return EXIT.ok;
  } finally {
    await producer.disconnect();
  }
}

if (import.meta.main) await runCli((args) => main(args, Deno.env.toObject()));
