/**
 * The worker and operator Dockerfiles, checked without a Docker engine: the
 * pinned base images use the Deno this repository runs on; every file they
 * COPY exists (and survives their .dockerignore); the image runs its entry
 * module with exactly the flags (permissions, V8 flags) of its `deno task`;
 * the entry module type-checks; and the build is replayed outside a
 * container — only the COPYed files, the Dockerfile's own RUN step filling a
 * fresh DENO_DIR — after which the image's command, as a non-root user with
 * that DENO_DIR read-only and `--cached-only`, loads the whole program (it
 * stops at the configuration check we provoke).
 *
 * @module
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const IMAGES = join(ROOT, "manifests", "images");
/** The unprivileged uid:gid the images run as (distroless "nonroot"). */
const NON_ROOT = "65532:65532";

/** One instruction of a Dockerfile, continuation lines joined. */
interface Instruction {
  keyword: string;
  args: string;
}

/** A build stage: its base image, its name and its instructions. */
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** A parsed Dockerfile: global ARG defaults and the stages. */
interface Dockerfile {
  args: Record<string, string>;
  stages: Stage[];
}

/** Parses the subset of the Dockerfile syntax our images use. */
function parseDockerfile(text: string): Dockerfile {
  const logical: string[] = [];
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#") || line === "") continue;
    if (line.endsWith("\\")) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(current + line);
    current = "";
  }
  const result: Dockerfile = { args: {}, stages: [] };
  for (const line of logical) {
    const [keyword = "", ...rest] = line.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), args: rest.join(" ") };
    if (instruction.keyword === "FROM") {
      const [image = "", as, name] = rest;
      result.stages.push({
        from: substitute(image, result.args),
        name: as?.toUpperCase() === "AS" ? name : undefined,
        instructions: [],
      });
    } else if (result.stages.length === 0) {
      assert.equal(instruction.keyword, "ARG", `only ARG may come before FROM: ${line}`);
      const [name = "", value = ""] = instruction.args.split("=");
      result.args[name] = value;
    } else {
      result.stages.at(-1)!.instructions.push(instruction);
    }
  }
  return result;
}

function substitute(text: string, args: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => args[a ?? b] ?? "");
}

function all(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

function only(stage: Stage, keyword: string): string {
  const found = all(stage, keyword);
  assert.equal(found.length, 1, `expected one ${keyword} in stage ${stage.name ?? stage.from}`);
  return found[0]!;
}

/** `ENV A=1 B=2` instructions of a stage as a record. */
function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const args of all(stage, "ENV")) {
    for (const pair of args.split(/\s+/).filter(Boolean)) {
      const eq = pair.indexOf("=");
      assert.ok(eq > 0, `ENV must use KEY=value: ${pair}`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1).replace(/^"(.*)"$/, "$1");
    }
  }
  return env;
}

/** `COPY [--flags] src... dest` (shell form). */
function parseCopy(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith("--"));
  const paths = words.filter((w) => !w.startsWith("--"));
  const from = flags.find((f) => f.startsWith("--from="))?.slice("--from=".length);
  return { ...(from ? { from } : {}), sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

/** Flags that only images need: no fetching and no lockfile writes at run time. */
const IMAGE_ONLY_FLAGS = new Set(["--cached-only", "--frozen"]);

/**
 * The flags (permissions, V8 flags; not the image-only ones) and entry module
 * of a `deno run` command line.
 */
function runCommand(words: string[]): { flags: string[]; entry: string } {
  const run = words.indexOf("run");
  assert.ok(run >= 0, `not a deno run command: ${words.join(" ")}`);
  const rest = words.slice(run + 1);
  return {
    flags: rest.filter((w) => w.startsWith("--") && !IMAGE_ONLY_FLAGS.has(w)).sort(),
    entry: rest.at(-1)!,
  };
}

interface ImageCase {
  dockerfile: string;
  /** The deno.json task the image runs, when the task exists. */
  task: string;
  entry: string;
  port: number;
  portVariable: string;
  /** Environment that makes the program stop at its configuration check, and the message. */
  badConfig: { env: Record<string, string>; message: RegExp };
}

const CASES: ImageCase[] = [
  {
    dockerfile: "worker.Dockerfile",
    task: "worker",
    entry: "src/worker/main.ts",
    port: 9090,
    portVariable: "METRICS_PORT",
    badConfig: {
      env: { KAFKA_WORKER_POOL_SIZE: "0" },
      message: /Invalid configuration: KAFKA_WORKER_POOL_SIZE/,
    },
  },
  {
    dockerfile: "operator.Dockerfile",
    task: "operator",
    entry: "operator/main.ts",
    port: 8080,
    portVariable: "OPERATOR_METRICS_PORT",
    badConfig: {
      env: { OPERATOR_CONCURRENCY: "0", KUBECONFIG: "/nonexistent" },
      message: /OPERATOR_CONCURRENCY/,
    },
  },
];

/** How the image must run its program: as its deno.json task does. */
async function expectedCommand(image: ImageCase): Promise<{ flags: string[]; entry: string }> {
  const denoJson = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const task: string | undefined = denoJson.tasks?.[image.task];
  assert.ok(task, `deno.json has no "${image.task}" task`);
  return runCommand(task.split(/\s+/));
}

async function load(image: ImageCase): Promise<Dockerfile> {
  return parseDockerfile(await Deno.readTextFile(join(IMAGES, image.dockerfile)));
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

for (const image of CASES) {
  Deno.test(`${image.dockerfile}: pinned Deno base images, non-root, the task's command`, async () => {
    const dockerfile = await load(image);
    assert.equal(
      dockerfile.args["DENO_VERSION"],
      Deno.version.deno,
      "the images must run the Deno this repository is tested with",
    );
    for (const stage of dockerfile.stages) {
      assert.match(stage.from, /^denoland\/deno:(debian|distroless)-\d+\.\d+\.\d+$/);
    }
    const final = dockerfile.stages.at(-1)!;
    assert.equal(final.from, `denoland/deno:distroless-${Deno.version.deno}`);
    assert.equal(only(final, "USER"), NON_ROOT);
    assert.equal(only(final, "EXPOSE"), String(image.port));
    const env = envOf(final);
    assert.equal(env[image.portVariable], String(image.port));
    assert.equal(env["DENO_NO_UPDATE_CHECK"], "1");
    const build = dockerfile.stages[0]!;
    assert.equal(envOf(build)["DENO_DIR"], env["DENO_DIR"], "DENO_DIR differs between stages");
    assert.equal(only(build, "WORKDIR"), only(final, "WORKDIR"));

    const command = [
      ...JSON.parse(only(final, "ENTRYPOINT")) as string[],
      ...JSON.parse(only(final, "CMD")) as string[],
    ];
    assert.deepEqual(command.slice(0, 2), ["deno", "run"]);
    assert.ok(command.includes("--cached-only"), "the image must not fetch at run time");
    assert.ok(command.includes("--frozen"), "the image must not rewrite deno.lock");
    const expected = await expectedCommand(image);
    assert.deepEqual(runCommand(command), expected);
    assert.equal(expected.entry, image.entry);
    assert.match(
      only(build, "RUN"),
      new RegExp(`deno install --frozen --entrypoint ${image.entry}`),
    );
  });

  Deno.test(`${image.dockerfile}: every COPYed file exists and the entry module type-checks`, async () => {
    const dockerfile = await load(image);
    const context = await buildContext(image);
    const stageNames = new Set(dockerfile.stages.map((s) => s.name).filter(Boolean));
    let copied = 0;
    for (const stage of dockerfile.stages) {
      for (const args of all(stage, "COPY")) {
        const copy = parseCopy(args);
        if (copy.from) {
          assert.ok(stageNames.has(copy.from), `COPY --from=${copy.from}: no such stage`);
          continue;
        }
        for (const source of copy.sources) {
          assert.ok(await exists(join(ROOT, source)), `${image.dockerfile} copies ${source}`);
          const files = contextFiles(context, source);
          assert.ok(
            files.length > 0,
            `${source} is left out of the build context by .dockerignore`,
          );
          copied += files.length;
        }
      }
    }
    assert.ok(copied > 0);
    assert.ok(context.includes(image.entry), `${image.entry} is not in the build context`);
    assert.ok(!context.some((file) => file.endsWith("_test.ts")), "tests go into the image");

    const check = await new Deno.Command(Deno.execPath(), {
      args: ["check", image.entry],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(
      check.success,
      `deno check ${image.entry}:\n${new TextDecoder().decode(check.stderr)}`,
    );
  });

  Deno.test(`${image.dockerfile}: the build replayed without Docker runs as non-root from a read-only DENO_DIR`, async () => {
    const dockerfile = await load(image);
    const [build, final] = [dockerfile.stages[0]!, dockerfile.stages.at(-1)!];
    const work = await Deno.makeTempDir({ prefix: "jobpool-image-" });
    try {
      await Deno.chmod(work, 0o755);
      const app = join(work, "app");
      const denoDir = join(work, "deno-dir");
      await Deno.mkdir(app);
      // What the build stage COPYs from the build context (.dockerignore applied).
      const context = await buildContext(image);
      for (const args of all(build, "COPY")) {
        for (const source of parseCopy(args).sources) {
          for (const file of contextFiles(context, source)) {
            await Deno.mkdir(dirname(join(app, file)), { recursive: true });
            await Deno.copyFile(join(ROOT, file), join(app, file));
          }
        }
      }
      // The build stage's RUN, with its absolute paths mapped into the work folder.
      const buildEnv = envOf(build);
      const paths: Record<string, string> = {
        [buildEnv["DENO_DIR"]!]: denoDir,
        [only(build, "WORKDIR")]: app,
      };
      const script = Object.entries(paths).reduce(
        (text, [from, to]) => text.replaceAll(new RegExp(`${from}(?=[\\s/]|$)`, "g"), to),
        only(build, "RUN"),
      );
      const installed = await new Deno.Command("sh", {
        args: ["-c", script],
        cwd: app,
        env: { ...buildEnv, DENO_DIR: denoDir, PATH: `${dirname(Deno.execPath())}:/usr/bin:/bin` },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(installed.success, `RUN ${script}:\n${new TextDecoder().decode(installed.stderr)}`);

      const command = JSON.parse(only(final, "CMD")) as string[];
      const asRoot = Deno.uid() === 0;
      if (!asRoot) await run("chmod", ["-R", "a-w", denoDir, app]);
      try {
        const [uid, gid] = NON_ROOT.split(":");
        const deno = Deno.execPath();
        const program = asRoot
          ? ["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", deno]
          : [deno];
        const output = await new Deno.Command(program[0]!, {
          args: [...program.slice(1), ...command],
          cwd: app,
          clearEnv: true,
          env: {
            ...envOf(final),
            DENO_DIR: denoDir,
            PATH: "/usr/bin:/bin",
            NO_COLOR: "1",
            ...image.badConfig.env,
          },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stderr = new TextDecoder().decode(output.stderr);
        assert.notEqual(output.code, 0, `expected the configuration error, got:\n${stderr}`);
        assert.match(stderr, image.badConfig.message);
        assert.doesNotMatch(stderr, /Download|permission denied|read-only/i);
      } finally {
        if (!asRoot) await run("chmod", ["-R", "u+w", denoDir, app]);
      }
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  });
}

/**
 * A `.dockerignore` as a predicate on context-relative paths, with Docker's
 * rules: patterns apply in order, the last match wins, `!` re-includes, and a
 * pattern that matches a folder matches everything below it.
 */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text.split("\n").map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const negate = line.startsWith("!");
      const pattern = (negate ? line.slice(1) : line).replace(/^\/+|\/+$/g, "");
      return { negate, regex: globRegex(pattern) };
    });
  return (path) => {
    const parts = path.split("/");
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    let excluded = false;
    for (const rule of rules) {
      if (prefixes.some((prefix) => rule.regex.test(prefix))) excluded = !rule.negate;
    }
    return excluded;
  };
}

/** A Docker-style glob (`**`, `*`, `?`) as an anchored regular expression. */
function globRegex(glob: string): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (glob.startsWith("**/", i)) {
      source += "(?:.*/)?";
      i += 2;
    } else if (glob.startsWith("**", i)) {
      source += ".*";
      i += 1;
    } else if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

/** The files of the build context (the repository) that the image's `.dockerignore` keeps. */
async function buildContext(image: ImageCase): Promise<string[]> {
  const ignorePath = join(IMAGES, `${image.dockerfile}.dockerignore`);
  const ignored = dockerignore(await Deno.readTextFile(ignorePath));
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(join(ROOT, dir))) {
      const path = dir ? `${dir}/${entry.name}` : entry.name;
      if (path === ".git") continue;
      if (entry.isDirectory) await walk(path);
      else if (!ignored(path)) files.push(path);
    }
  };
  await walk("");
  return files.sort();
}

/** The context files a COPY source names (a file, or a folder and everything in it). */
function contextFiles(context: string[], source: string): string[] {
  const path = source.replace(/^\.\/|\/+$/g, "");
  return context.filter((file) => file === path || file.startsWith(`${path}/`));
}

async function run(command: string, args: string[]): Promise<void> {
  const output = await new Deno.Command(command, { args, stderr: "piped" }).output();
  if (!output.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
}
