import assert from "node:assert/strict";
import { JOB_TYPES } from "../../src/jobs/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The per-type counts of the last progress line, e.g. `email.welcome 17`. */
function processedCounts(line: string): Map<string, number> {
  const processed = /processed: ([^|]*)\|/.exec(line)?.[1] ?? "";
  return new Map(
    [...processed.matchAll(/([\w.]+) (\d+)/g)].map((m) => [`job.${m[1]}`, Number(m[2])]),
  );
}

Deno.test("deno task dev runs jobs of every type and stops cleanly on Ctrl-C", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "dev"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let output = "";
  let interrupted = false;
  let overview: { groups?: { group: string }[] } | undefined;
  const deadline = setTimeout(() => child.kill("SIGINT"), 150_000);
  try {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      output += chunk;
      const lines = output.trimEnd().split("\n");
      const counts = processedCounts(lines.at(-1) ?? "");
      if (!interrupted && JOB_TYPES.every((type) => (counts.get(type) ?? 0) > 0)) {
        interrupted = true;
        const consoleUrl = /Console: (http:\S+)/.exec(output)?.[1];
        overview = consoleUrl
          ? await fetch(`${consoleUrl}api/overview`).then((r) => r.json()).catch(() => undefined)
          : undefined;
        child.kill("SIGINT");
      }
    }
  } finally {
    clearTimeout(deadline);
  }
  const status = await child.status;
  const errors = await stderr;
  assert.ok(interrupted, `not every job type was processed:\n${output}\n${errors.slice(-3000)}`);
  assert.equal(status.code, 0, `deno task dev exited with ${status.code}:\n${errors.slice(-3000)}`);
  assert.match(output, /Worker metrics: http:\/\/127\.0\.0\.1:\d+\/metrics/);
  assert.deepEqual(
    overview?.groups?.map((g) => g.group),
    ["job-workers"],
    "the console serves the stack",
  );
  assert.match(output, /Console: http:\/\/127\.0\.0\.1:\d+\/ \(token for replays: [0-9a-f-]{36}\)/);
  assert.match(output, /captured emails are written to /);
  assert.match(output, /Worker exited with code 0/);
  assert.match(output, /Local stack stopped\./);
});
