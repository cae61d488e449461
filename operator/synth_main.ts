/**
 * `deno task synth`: writes the generated manifests (CRD, install bundle,
 * examples, the chart's CRD). `deno task synth --check` writes nothing and
 * exits 1 when a committed file differs from what the generator produces.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { generatedFiles } from "./synth/manifests.ts";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

async function readOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

function firstDifference(expected: string, actual: string): string {
  const want = expected.split("\n");
  const have = actual.split("\n");
  for (let i = 0; i < Math.max(want.length, have.length); i++) {
    if (want[i] !== have[i]) {
      return `line ${i + 1}: expected ${JSON.stringify(want[i] ?? "<end of file>")}, ` +
        `found ${JSON.stringify(have[i] ?? "<end of file>")}`;
    }
  }
  return "same lines, different bytes";
}

/** Files in the generator's folders that it no longer produces. */
async function strayFiles(files: Map<string, string>): Promise<string[]> {
  const folders = new Set([...files.keys()].map((path) => dirname(path)));
  const stray: string[] = [];
  for (const folder of [...folders].sort()) {
    try {
      for await (const entry of Deno.readDir(join(ROOT, folder))) {
        const path = `${folder}/${entry.name}`;
        if (entry.isFile && !files.has(path)) stray.push(path);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return stray.sort();
}

async function main(args: string[]): Promise<number> {
  const unknown = args.filter((arg) => arg !== "--check");
  if (unknown.length > 0) {
    console.error(`Unknown argument ${unknown.join(" ")}: use 'deno task synth [--check]'`);
    return 2;
  }
  const check = args.includes("--check");
  const stale: string[] = [];
  const files = generatedFiles();
  for (const [path, content] of files) {
    const file = join(ROOT, path);
    const current = await readOrUndefined(file);
    if (current === content) continue;
    if (check) {
      stale.push(
        current === undefined
          ? `${path}: missing`
          : `${path}: differs, ${firstDifference(content, current)}`,
      );
      continue;
    }
    await Deno.mkdir(dirname(file), { recursive: true });
    await Deno.writeTextFile(file, content);
    console.log(`wrote ${path}`);
  }
  for (const path of await strayFiles(files)) {
    if (check) stale.push(`${path}: not generated any more, delete it`);
    else console.warn(`warning: ${path} is not generated any more: delete it`);
  }
  if (stale.length > 0) {
    console.error(
      `Generated manifests are out of date:\n  ${stale.join("\n  ")}\n` +
        "Run 'deno task synth' and commit the result (see 'git diff manifests/ charts/')",
    );
    return 1;
  }
  if (check) console.log("generated manifests are up to date");
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
