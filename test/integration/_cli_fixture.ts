/**
 * Running the CLIs of `src/cli` in a child process, as operators run them,
 * with an environment pointing at the test broker, for the CLI integration
 * tests.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { kafkaBrokers } from "../env/services.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** What a CLI run exited with and printed. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `src/cli/<script>` with `args` and only the given settings in its
 * environment (plus `HOME`, `PATH`, `DENO_DIR` and `XDG_CACHE_HOME`).
 */
export async function cli(
  script: string,
  args: string[],
  env: Record<string, string>,
): Promise<CliResult> {
  const passThrough = ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME"]
    .flatMap((name) => {
      const value = Deno.env.get(name);
      return value === undefined ? [] : [[name, value] as const];
    });
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--config",
      `${ROOT}deno.json`,
      `${ROOT}src/cli/${script}`,
      ...args,
    ],
    cwd: ROOT,
    clearEnv: true,
    env: { ...Object.fromEntries(passThrough), ...env },
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** A CLI environment for the test broker: `KAFKA_BROKERS` and the given settings. */
export function kafkaEnv(settings: Record<string, string> = {}): Record<string, string> {
  return { KAFKA_BROKERS: kafkaBrokers().join(","), ...settings };
}
