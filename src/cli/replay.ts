/**
 * `deno task replay`: moves the consumer group's committed offsets back to
 * the earliest retained message or to a point in time, so the workers run
 * those jobs again. Refuses while the group has members, since running
 * consumers would overwrite the reset with their own commits.
 *
 * @module
 */

import type { Admin } from "kafkajs";
import { parseArgs } from "node:util";
import { type Env, loadKafkaConfig } from "../config/mod.ts";
import { createKafkaClient } from "../kafka/mod.ts";
import { EXIT, formatTable, requireTopic, runCli, UsageError, withAdmin } from "./common.ts";

const HELP = `Usage: deno task replay (--to-earliest | --to-time <ISO timestamp>) [options]

Resets the consumer group's committed offsets on the job topic so that the workers
re-process every job from that point. Stop every worker of the group first: the reset
is refused while the group has active members.

Options:
  --to-earliest            to the oldest message still in each partition
  --to-time <timestamp>    to the first message at or after this ISO 8601 time,
                           e.g. 2026-11-28T09:00:00Z (log end where there is none)
  --group <group>          default: KAFKA_JOB_CONSUMER_GROUP (job-workers)
  --topic <topic>          default: KAFKA_JOB_TOPIC (job-events)
  --dry-run                print the new offsets without changing anything
  -h, --help               show this help`;

/** Where to move the offsets to. */
export type ResetTarget = { earliest: true } | { time: Date };

/** One partition's committed offset before and after the reset. */
export interface OffsetChange {
  /** The partition. */
  partition: number;
  /** `null` when the group had not committed on this partition. */
  from: number | null;
  /** The committed offset after the reset. */
  to: number;
}

/** Options of {@linkcode resetGroupOffsets}. */
export interface ResetGroupOffsetsOptions {
  /** The consumer group whose offsets move. */
  group: string;
  /** The topic whose partitions are reset. */
  topic: string;
  /** Where the offsets move to. */
  to: ResetTarget;
  /** Compute and return the changes without committing them. @default false */
  dryRun?: boolean;
}

/** The group still has members, so its offsets cannot be reset safely. */
export class GroupActiveError extends Error {
  /** An error naming the group, its state and how many members it still has. */
  constructor(group: string, state: string, members: number) {
    super(
      `Consumer group "${group}" has ${members} active member(s) (state ${state}): stop every ` +
        "worker of the group, wait until it is empty, then run the reset again",
    );
    this.name = "GroupActiveError";
  }
}

/**
 * Commits new offsets for every partition of `topic` on behalf of `group`.
 *
 * @throws {GroupActiveError} while the group has members.
 */
export async function resetGroupOffsets(
  admin: Admin,
  options: ResetGroupOffsetsOptions,
): Promise<OffsetChange[]> {
  const { group, topic } = options;
  const { groups } = await admin.describeGroups([group]);
  const description = groups[0];
  if (description && description.members.length > 0) {
    throw new GroupActiveError(group, description.state, description.members.length);
  }
  const [targets, committed] = await Promise.all([
    targetOffsets(admin, topic, options.to),
    admin.fetchOffsets({ groupId: group, topics: [topic] }),
  ]);
  const current = new Map(
    (committed.find((entry) => entry.topic === topic)?.partitions ?? [])
      .map(({ partition, offset }) => [partition, Number(offset)] as const)
      .filter(([, offset]) => offset >= 0),
  );
  const changes = [...targets]
    .map(([partition, to]) => ({ partition, from: current.get(partition) ?? null, to }))
    .sort((a, b) => a.partition - b.partition);
  if (!options.dryRun) {
    await admin.setOffsets({
      groupId: group,
      topic,
      partitions: changes.map(({ partition, to }) => ({ partition, offset: String(to) })),
    });
  }
  return changes;
}

async function targetOffsets(
  admin: Admin,
  topic: string,
  to: ResetTarget,
): Promise<Map<number, number>> {
  const bounds = await admin.fetchTopicOffsets(topic);
  if ("earliest" in to) {
    return new Map(bounds.map(({ partition, low }) => [partition, Number(low)]));
  }
  const high = new Map(bounds.map(({ partition, high }) => [partition, Number(high)]));
  const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, to.time.getTime());
  // A partition with nothing at or after the time answers -1: nothing there
  // to replay, so it goes to its log end.
  return new Map(byTime.map(({ partition, offset }) => {
    const found = Number(offset);
    return [partition, found >= 0 ? found : high.get(partition) ?? 0];
  }));
}

/** The parsed command line of `replay`. */
export interface ReplayArgs {
  /** `--help` was given: print the usage and do nothing else. */
  help: boolean;
  /** `--to-earliest` or `--to-time`: where the offsets move to. */
  to?: ResetTarget;
  /** `--group`: the consumer group, instead of `KAFKA_JOB_CONSUMER_GROUP`. */
  group?: string;
  /** `--topic`: the topic, instead of `KAFKA_JOB_TOPIC`. */
  topic?: string;
  /** `--dry-run`: print the changes without committing them. */
  dryRun: boolean;
}

/** Parses `replay`'s arguments; exactly one of `--to-earliest` and `--to-time` is required. */
export function parseReplayArgs(args: string[]): ReplayArgs {
  const { values } = parseArgs({
    args,
    options: {
      "to-earliest": { type: "boolean", default: false },
      "to-time": { type: "string" },
      group: { type: "string" },
      topic: { type: "string" },
      "dry-run": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return { help: true, dryRun: false };
  const time = values["to-time"];
  if (values["to-earliest"] === (time !== undefined)) {
    throw new UsageError("Give exactly one of --to-earliest and --to-time <ISO timestamp>");
  }
  let to: ResetTarget = { earliest: true };
  if (time !== undefined) {
    const parsed = new Date(time);
    // Date.parse accepts more than ISO 8601; insist on a date, so that a typo
    // never silently means some other day.
    if (!/^\d{4}-\d{2}-\d{2}/.test(time) || Number.isNaN(parsed.getTime())) {
      throw new UsageError(
        `--to-time must be an ISO 8601 timestamp such as 2026-11-28T09:00:00Z, got "${time}"`,
      );
    }
    to = { time: parsed };
  }
  return {
    help: false,
    to,
    dryRun: values["dry-run"],
    ...(values.group === undefined ? {} : { group: values.group }),
    ...(values.topic === undefined ? {} : { topic: values.topic }),
  };
}

/** The table `replay` prints. */
export function formatChanges(topic: string, changes: readonly OffsetChange[]): string {
  return formatTable(
    ["TOPIC", "PARTITION", "OLD-OFFSET", "NEW-OFFSET"],
    changes.map(({ partition, from, to }) => [
      topic,
      String(partition),
      from === null ? "-" : String(from),
      String(to),
    ]),
  );
}

async function main(args: string[], env: Env): Promise<number> {
  const parsed = parseReplayArgs(args);
  if (parsed.help || !parsed.to) {
    console.log(HELP);
    return EXIT.ok;
  }
  const config = loadKafkaConfig(env);
  const group = parsed.group ?? config.worker.consumerGroup;
  const topic = parsed.topic ?? config.kafka.topic;
  const to = parsed.to;
  const kafka = createKafkaClient(config.kafka, { clientId: `${config.kafka.clientId}-replay` });
  return await withAdmin(kafka, async (admin) => {
    await requireTopic(admin, topic, parsed.topic ? "--topic" : "KAFKA_JOB_TOPIC");
    const changes = await resetGroupOffsets(admin, {
      group,
      topic,
      to,
      dryRun: parsed.dryRun,
    });
    console.log(formatChanges(topic, changes));
    const where = "earliest" in to ? "the earliest offsets" : to.time.toISOString();
    console.log(
      parsed.dryRun
        ? `\nDry run: group "${group}" was not changed`
        : `\nGroup "${group}" now starts from ${where} on ${topic}`,
    );
    return EXIT.ok;
  });
}

if (import.meta.main) await runCli((args) => main(args, Deno.env.toObject()));
