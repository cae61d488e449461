/**
 * The V8 flags the worker is deployed with, read from `deno task worker` in
 * `deno.json` (the worker image's command carries the same, checked by
 * `test/integration/images_dockerfiles_test.ts`), so that benchmarks and the
 * drill run the worker as it runs in production.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

const DENO_JSON = fileURLToPath(new URL("../../deno.json", import.meta.url));

/** The `--v8-flags=…` words of the `worker` task in `deno.json`. */
export function workerV8Flags(): string[] {
  const denoJson = JSON.parse(Deno.readTextFileSync(DENO_JSON));
  const task: string = denoJson.tasks?.worker ?? "";
  return task.split(/\s+/).filter((word) => word.startsWith("--v8-flags="));
}
