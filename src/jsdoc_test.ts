import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The folders whose exports must carry JSDoc. */
const FOLDERS = [
  "async",
  "cli",
  "config",
  "db",
  "handlers",
  "jobs",
  "mail",
  "observability",
  "producer",
  "worker",
];

/**
 * What `deno doc --lint` may still report: references to types of npm
 * packages (kafkajs, LogTape, prom-client, zod), and the zod schemas, whose
 * types are inferred on purpose.
 */
const ALLOWED = [
  /^error\[private-type-ref\]: .* references private type '(Kafka|Admin|KafkaMessage|IHeaders|Logger|Registry|output)'$/m,
  /^error\[missing-explicit-type\]: .*\n\s*--> .*src\/jobs\/schema\.ts:/,
];

async function sources(folder: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(folder)) {
    const path = join(folder, entry.name);
    if (entry.isDirectory) files.push(...await sources(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) files.push(path);
  }
  return files;
}

Deno.test("deno doc --lint finds every export documented", async () => {
  const root = fileURLToPath(new URL(".", import.meta.url));
  const files = (await Promise.all(FOLDERS.map((folder) => sources(join(root, folder))))).flat();
  const { stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", ...files],
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(stderr) + new TextDecoder().decode(stdout);
  const problems = text.split(/\n(?=error\[)/).filter((block) => block.startsWith("error["))
    .map((block) => block.split("\n").slice(0, 2).join("\n"))
    .filter((problem) => !ALLOWED.some((allowed) => allowed.test(problem)));
  assert.deepEqual(problems, []);
});
