/**
 * Building Go programs from the Go module proxy into the user-level cache:
 * a throwaway wrapper module per program, `go mod tidy`, `go build` at low
 * CPU priority, and a lock so that test processes started together do not
 * build into the same folders. kube-apiserver, etcd, kube-controller-manager
 * and KEDA are built this way.
 *
 * @module
 */

import { join } from "node:path";
import { cacheDir, exists } from "./cache.ts";
import { run } from "./process.ts";

const GO_FALLBACK = "/usr/local/go/bin/go";

/**
 * Runs `fn` while holding the lock file `lock`, so that test processes
 * started together do not build into the same folders. A lock whose owner
 * process is gone is taken over. `what` names the build in the waiting notice.
 */
export async function withBuildLock(
  lock: string,
  what: string,
  fn: () => Promise<void>,
): Promise<void> {
  let told = false;
  for (;;) {
    try {
      await Deno.writeTextFile(lock, `${Deno.pid}\n`, { createNew: true });
      break;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    const text = await Deno.readTextFile(lock).catch(() => "");
    const owner = Number.parseInt(text, 10);
    const age = Date.now() - ((await Deno.stat(lock).catch(() => null))?.mtime?.getTime() ?? 0);
    const ownerGone = Number.isInteger(owner) ? !(await exists(`/proc/${owner}`)) : age > 10_000;
    if (ownerGone) {
      await Deno.remove(lock).catch(() => {});
      continue;
    }
    if (!told) {
      console.error(`waiting for process ${owner} to finish building ${what} (${lock})`);
      told = true;
    }
    await new Promise((r) => setTimeout(r, 2_000));
  }
  try {
    await fn();
  } finally {
    await Deno.remove(lock).catch(() => {});
  }
}

/** The environment of every Go command: caches in the user-level cache, no cgo. */
export async function goEnv(): Promise<Record<string, string>> {
  return {
    GOMODCACHE: await cacheDir("go", "mod"),
    GOCACHE: await cacheDir("go", "build"),
    GOFLAGS: "-modcacherw",
    GOTOOLCHAIN: "local",
    GOWORK: "off",
    GO111MODULE: "on",
    CGO_ENABLED: "0",
  };
}

async function findGo(): Promise<string> {
  for (const candidate of ["go", GO_FALLBACK]) {
    try {
      const output = await new Deno.Command(candidate, {
        args: ["env", "GOVERSION"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (output.success) return candidate;
    } catch { /* not there, try the next one */ }
  }
  throw new Error(
    `Cannot build the test services: no Go toolchain (tried "go" on PATH and ${GO_FALLBACK}). ` +
      "Install Go 1.26 or newer.",
  );
}

/** Runs a Go command at low CPU priority in `cwd`; throws with its output on failure. */
export async function goRun(args: string[], cwd: string, what: string): Promise<string> {
  const go = await findGo();
  return await run("nice", ["-n", "10", go, ...args], { cwd, env: await goEnv(), what });
}

/**
 * Downloads `module@version` into the Go module cache; returns its go.mod
 * text and the folder holding its source.
 */
export async function downloadModule(
  module: string,
  version: string,
  cwd: string,
): Promise<{ goMod: string; dir: string }> {
  const output = await goRun(
    ["mod", "download", "-json", `${module}@${version}`],
    cwd,
    `downloading ${module}@${version}`,
  );
  const info = JSON.parse(output) as { GoMod?: string; Dir?: string; Error?: string };
  if (!info.GoMod || !info.Dir) {
    throw new Error(`go mod download ${module}@${version} failed: ${info.Error ?? output}`);
  }
  return { goMod: await Deno.readTextFile(info.GoMod), dir: info.Dir };
}

/** The `go` directive of a module's go.mod. */
export function goDirective(goMod: string, module: string): string {
  const directive = goMod.match(/^go\s+(\S+)\s*$/m)?.[1];
  if (!directive) throw new Error(`${module}'s go.mod has no "go" line`);
  return directive;
}

/** A fresh throwaway module folder `<cache>/<area>/src/<name>`. */
export async function freshModuleDir(area: string, name: string): Promise<string> {
  const dir = join(await cacheDir(area, "src"), name);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  return dir;
}

/** Options of {@linkcode buildGoMains}. */
export interface BuildGoMainsOptions {
  /** The wrapper module's folder (see {@linkcode freshModuleDir}). */
  dir: string;
  /** The wrapper module's go.mod. */
  goMod: string;
  /** Main packages to build, each to its output path. */
  mains: { package: string; output: string }[];
  /** `-ldflags` of every build. */
  ldflags: string;
  /** What is built, for messages. */
  what: string;
}

/**
 * Writes go.mod and a `tools` file importing every main package, tidies,
 * then builds each package to a partial file renamed into place when done,
 * so a killed build never leaves a half-written binary.
 */
export async function buildGoMains(options: BuildGoMainsOptions): Promise<void> {
  const { dir, mains, what } = options;
  await Deno.writeTextFile(join(dir, "go.mod"), options.goMod);
  const imports = mains.map((main) => `import _ "${main.package}"\n`).join("");
  await Deno.writeTextFile(
    join(dir, "tools.go"),
    `//go:build tools\n\npackage tools\n\n${imports}`,
  );
  await goRun(["mod", "tidy"], dir, `resolving the modules of ${what}`);
  for (const main of mains) {
    const partial = `${main.output}.partial-${Deno.pid}`;
    try {
      await goRun(
        ["build", "-trimpath", "-ldflags", options.ldflags, "-o", partial, main.package],
        dir,
        `building ${main.package}`,
      );
      await Deno.rename(partial, main.output);
    } finally {
      await Deno.remove(partial).catch(() => {});
    }
  }
}

/** Seconds since `since` (a `Date.now()`), one decimal. */
export function secondsSince(since: number): string {
  return ((Date.now() - since) / 1000).toFixed(1);
}
