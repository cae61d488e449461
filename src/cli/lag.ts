/**
 * `deno task lag`: the consumer group's lag per partition, as
 * `kafka-consumer-groups --describe` prints it, plus the total.
 *
 * @module
 */

import { type Admin, AssignerProtocol } from "kafkajs";
import { parseArgs } from "node:util";
import { type Env, type KafkaToolConfig, loadKafkaConfig } from "../config/mod.ts";
import { createKafkaClient } from "../kafka/mod.ts";
import { fetchGroupLag, type GroupLag } from "../observability/lag.ts";
import { EXIT, formatTable, requireTopic, runCli, withAdmin } from "./common.ts";

const HELP = `Usage: deno task lag [--group <group>] [--topic <topic>] [--json]

Prints the consumer group's committed offset, log end and lag per partition of the
job topic, and the total lag.

Options:
  --group <group>   consumer group     default: KAFKA_JOB_CONSUMER_GROUP (job-workers)
  --topic <topic>   topic              default: KAFKA_JOB_TOPIC (job-events)
  --json            print JSON instead of a table
  -h, --help        show this help

Connection settings come from KAFKA_BROKERS, KAFKA_TLS*, KAFKA_SASL_*.`;

/** Who holds a partition: the group member's id, host and client id. */
export interface PartitionOwner {
  /** The member id the coordinator gave the consumer. */
  consumerId: string;
  /** The host the member connected from. */
  host: string;
  /** The client id the member reported. */
  clientId: string;
}

/**
 * The members of `group` by the `topic` partitions they are assigned, read
 * from the classic group protocol's assignments. Empty for an empty group.
 */
export async function fetchPartitionOwners(
  admin: Admin,
  group: string,
  topic: string,
): Promise<Map<number, PartitionOwner>> {
  const owners = new Map<number, PartitionOwner>();
  const { groups } = await admin.describeGroups([group]);
  for (const member of groups[0]?.members ?? []) {
    // A member that has not been assigned yet carries an empty assignment.
    if (member.memberAssignment.length === 0) continue;
    const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
    for (const partition of decoded?.assignment[topic] ?? []) {
      owners.set(partition, {
        consumerId: member.memberId,
        host: member.clientHost,
        clientId: member.clientId,
      });
    }
  }
  return owners;
}

/** The table `lag` prints: one row per partition, then the total. */
export function formatLag(lag: GroupLag, owners: ReadonlyMap<number, PartitionOwner>): string {
  const rows = lag.partitions.map((entry) => {
    const owner = owners.get(entry.partition);
    return [
      lag.group,
      entry.topic,
      String(entry.partition),
      entry.currentOffset === null ? "-" : String(entry.currentOffset),
      String(entry.logEndOffset),
      String(entry.lag),
      owner?.consumerId ?? "-",
      owner?.host ?? "-",
      owner?.clientId ?? "-",
    ];
  });
  const table = formatTable([
    "GROUP",
    "TOPIC",
    "PARTITION",
    "CURRENT-OFFSET",
    "LOG-END-OFFSET",
    "LAG",
    "CONSUMER-ID",
    "HOST",
    "CLIENT-ID",
  ], rows);
  return `${table}\n\nTOTAL LAG: ${lag.total}`;
}

/**
 * The settings `lag` reads: Kafka's and the worker's only, so bad database or
 * mail settings in the same environment do not stop it.
 *
 * @throws {ConfigError} naming each bad Kafka or worker variable.
 */
export function readLagConfig(env: Env): KafkaToolConfig {
  return loadKafkaConfig(env);
}

async function main(args: string[], env: Env): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      group: { type: "string" },
      topic: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return EXIT.ok;
  }
  const config = readLagConfig(env);
  const group = values.group ?? config.worker.consumerGroup;
  const topic = values.topic ?? config.kafka.topic;
  const kafka = createKafkaClient(config.kafka, { clientId: `${config.kafka.clientId}-lag` });
  return await withAdmin(kafka, async (admin) => {
    await requireTopic(admin, topic, values.topic ? "--topic" : "KAFKA_JOB_TOPIC");
    const [lag, owners] = await Promise.all([
      fetchGroupLag(admin, group, topic),
      fetchPartitionOwners(admin, group, topic),
    ]);
    if (values.json) console.log(JSON.stringify(lag, null, 2));
    else console.log(formatLag(lag, owners));
    return EXIT.ok;
  });
}

if (import.meta.main) await runCli((args) => main(args, Deno.env.toObject()));
