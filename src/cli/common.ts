/**
 * What the CLIs (`enqueue`, `dlq`, `replay`, `lag`, `migrate`, `seed`) share: exit codes, error
 * reporting, a connected admin client and plain-text tables.
 *
 * @module
 */

import type { Admin, Kafka } from "kafkajs";
import { ConfigError } from "../config/mod.ts";
import { JobDecodeError } from "../jobs/mod.ts";

/** A command-line argument that is missing or not allowed. */
export class UsageError extends TypeError {
  /** A usage error with `message` saying what is wrong. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Exit codes of every CLI: done, failed while running, or called wrongly. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/**
 * Runs a CLI's `main` and exits with its code. Bad arguments and bad
 * configuration exit 2 with the message naming the flag or variable; any
 * other error exits 1 with its message.
 */
export async function runCli(main: (args: string[]) => Promise<number>): Promise<never> {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      console.error(`${error.message}\nRun with --help for usage.`);
      Deno.exit(EXIT.usage);
    }
    if (error instanceof ConfigError || error instanceof JobDecodeError) {
      console.error(error.message);
      Deno.exit(EXIT.usage);
    }
    console.error(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    Deno.exit(EXIT.failed);
  }
}

/** `node:util` `parseArgs` rejects unknown or malformed flags with these codes. */
function isParseArgsError(error: unknown): error is TypeError {
  return error instanceof TypeError && "code" in error &&
    String(error.code).startsWith("ERR_PARSE_ARGS_");
}

/** Connects an admin client of `kafka`, runs `use` with it, and disconnects. */
export async function withAdmin<T>(kafka: Kafka, use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Fails with a message naming `variable` when `topic` does not exist. */
export async function requireTopic(admin: Admin, topic: string, variable: string): Promise<void> {
  const topics = await admin.listTopics();
  if (!topics.includes(topic)) {
    throw new Error(`Topic "${topic}" does not exist: check ${variable} and KAFKA_BROKERS`);
  }
}

/** Left-aligned columns separated by two spaces, the header row first. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length))
  );
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** Parses a whole number flag value, naming the flag when it is not one. */
export function parseCount(value: string, flag: string, min = 0): number {
  if (!/^\d+$/.test(value) || Number(value) < min) {
    throw new UsageError(`${flag} must be a whole number >= ${min}, got "${value}"`);
  }
  return Number(value);
}
