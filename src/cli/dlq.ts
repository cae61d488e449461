/**
 * `deno task dlq`: lists and inspects dead letters, and replays chosen ones
 * (or all) onto the job topic.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Env, loadKafkaConfig } from "../config/mod.ts";
import { createKafkaClient } from "../kafka/mod.ts";
import {
  EXIT,
  formatTable,
  parseCount,
  requireTopic,
  runCli,
  UsageError,
  withAdmin,
} from "./common.ts";
import {
  type DeadLetter,
  type DeadLetterPosition,
  formatPosition,
  parsePosition,
  readDeadLetters,
  replayDeadLetters,
} from "./dead_letters.ts";

const HELP = `Usage:
  deno task dlq list [--limit <n>]
  deno task dlq show <partition:offset>
  deno task dlq replay (--all | <partition:offset>...)

Reads the dead-letter topic (KAFKA_DLQ_TOPIC, default <KAFKA_JOB_TOPIC>.dlq) without
joining the workers' group. A dead letter is named by its own position in that topic,
partition:offset, as 'list' prints it.

Commands:
  list      one line per dead letter: original position, job, attempts, error
  show      every detail of one dead letter, its headers and its payload
  replay    publish the chosen dead letters' original key, value and headers (without
            the x-... failure headers) to the job topic (KAFKA_JOB_TOPIC); the dead
            letters stay where they are

Options:
  --limit <n>   list at most n dead letters, oldest first        default: 100
  --all         replay every dead letter
  -h, --help    show this help`;

/** The parsed command line of `dlq`. */
export type DlqArgs =
  | { command: "help" }
  | { command: "list"; limit: number }
  | { command: "show"; position: DeadLetterPosition }
  | { command: "replay"; positions: DeadLetterPosition[] | "all" };

/** Parses `dlq`'s arguments. */
export function parseDlqArgs(args: string[]): DlqArgs {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      limit: { type: "string", default: "100" },
      all: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === "help") return { command: "help" };
  switch (command) {
    case "list":
      noPositionals(rest, "list");
      return { command: "list", limit: parseCount(values.limit, "--limit", 1) };
    case "show": {
      if (rest.length !== 1) throw new UsageError("dlq show takes one <partition:offset>");
      return { command: "show", position: position(rest[0] ?? "") };
    }
    case "replay":
      if (values.all === (rest.length > 0)) {
        throw new UsageError("dlq replay takes either --all or one or more <partition:offset>");
      }
      return { command: "replay", positions: values.all ? "all" : rest.map(position) };
    default:
      throw new UsageError(
        `Unknown command ${JSON.stringify(command ?? "")}: expected list, show or replay`,
      );
  }
}

function noPositionals(rest: string[], command: string): void {
  if (rest.length > 0) throw new UsageError(`dlq ${command} takes no arguments, got "${rest[0]}"`);
}

function position(text: string): DeadLetterPosition {
  const parsed = parsePosition(text);
  if (!parsed) {
    throw new UsageError(`A dead letter is named partition:offset, e.g. 0:42, got "${text}"`);
  }
  return parsed;
}

/** The table `dlq list` prints. */
export function formatDeadLetterList(letters: readonly DeadLetter[]): string {
  return formatTable(
    ["DLQ", "ORIGINAL", "JOB-TYPE", "JOB-ID", "ATTEMPTS", "LAST-FAILURE", "ERROR"],
    letters.map((letter) => [
      formatPosition(letter),
      originalPosition(letter),
      letter.job.type ?? "-",
      letter.job.id ?? "-",
      letter.attempts === undefined ? "-" : String(letter.attempts),
      letter.lastFailureAt ?? "-",
      oneLine(`${letter.error.class ?? "?"}: ${letter.error.message ?? ""}`, 100),
    ]),
  );
}

/** What `dlq show` prints for one dead letter. */
export function formatDeadLetter(letter: DeadLetter): string {
  const field = (name: string, value: string | number | undefined) =>
    `${`${name}:`.padEnd(18)}${value ?? "-"}`;
  const lines = [
    field("Dead letter", formatPosition(letter)),
    field("Dead-lettered at", letter.timestamp.toISOString()),
    field("Original", originalPosition(letter)),
    field("Job type", letter.job.type),
    field("Job id", letter.job.id),
    field("Key", letter.key?.toString("utf8")),
    field("Error class", letter.error.class),
    field("Error message", letter.error.message),
    field("Attempts", letter.attempts),
    field("First failure", letter.firstFailureAt),
    field("Last failure", letter.lastFailureAt),
    "Headers:",
    ...Object.entries(letter.headers).map(([name, value]) => `  ${name}: ${value}`),
    "Value:",
    prettyValue(letter.value),
  ];
  return lines.join("\n");
}

function originalPosition(letter: DeadLetter): string {
  const { topic, partition, offset } = letter.original;
  if (topic === undefined) return "-";
  return `${topic}/${partition ?? "?"}@${offset ?? "?"}`;
}

function oneLine(text: string, max: number): string {
  const flat = text.replaceAll(/\s+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function prettyValue(value: DeadLetter["value"]): string {
  if (value === null) return "  (null)";
  const text = value.toString("utf8");
  try {
    return JSON.stringify(JSON.parse(text), null, 2).replaceAll(/^/gm, "  ");
  } catch {
    return `  ${text}`;
  }
}

async function main(args: string[], env: Env): Promise<number> {
  const parsed = parseDlqArgs(args);
  if (parsed.command === "help") {
    console.log(HELP);
    return EXIT.ok;
  }
  const config = loadKafkaConfig(env);
  const topic = config.worker.deadLetterTopic;
  const kafka = createKafkaClient(config.kafka, { clientId: `${config.kafka.clientId}-dlq` });
  await withAdmin(kafka, (admin) => requireTopic(admin, topic, "KAFKA_DLQ_TOPIC"));
  const groupPrefix = `${config.kafka.clientId}-dlq-reader`;

  if (parsed.command === "list") {
    const letters = await readDeadLetters(kafka, { topic, groupPrefix });
    const oldest = [...letters].sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime())
      .slice(0, parsed.limit);
    console.log(formatDeadLetterList(oldest));
    console.log(`\n${oldest.length} of ${letters.length} dead letter(s) in ${topic}`);
    return EXIT.ok;
  }

  const only = parsed.command === "show"
    ? [parsed.position]
    : parsed.positions === "all"
    ? undefined
    : parsed.positions;
  const letters = await readDeadLetters(kafka, { topic, groupPrefix, ...(only ? { only } : {}) });
  const found = new Set(letters.map(formatPosition));
  const missing = (only ?? []).map(formatPosition).filter((name) => !found.has(name));
  if (missing.length > 0) {
    // Replay all-or-nothing: a typo must not leave half the batch replayed.
    console.error(`No dead letter at ${missing.join(", ")} in ${topic}: see 'deno task dlq list'`);
    return EXIT.failed;
  }
  if (parsed.command === "show") {
    console.log(letters.map(formatDeadLetter).join("\n\n"));
    return EXIT.ok;
  }
  await replayDeadLetters(kafka, config.kafka.topic, letters);
  // Name what was replayed, up to a screenful: enough to check a hand-picked list.
  const names = letters.slice(0, 20).map(formatPosition).join(", ");
  const more = letters.length > 20 ? ` and ${letters.length - 20} more` : "";
  console.log(
    `Replayed ${letters.length} dead letter(s) from ${topic} to ${config.kafka.topic}` +
      (letters.length > 0 ? `: ${names}${more}` : ""),
  );
  return EXIT.ok;
}

if (import.meta.main) await runCli((args) => main(args, Deno.env.toObject()));
