/**
 * Runs a long-lived service process for tests: output to a log file, a
 * readiness probe, a failure that names the service and shows its log tail.
 *
 * @module
 */

import { join } from "node:path";

/** Raised when a service of the test environment does not come up. */
export class ServiceStartError extends Error {
  /** The service's name, e.g. `kafka`. */
  readonly service: string;
  constructor(service: string, reason: string, logTail: string) {
    super(
      `Test service "${service}" failed to start: ${reason}\n--- last lines of its log ---\n${logTail}`,
    );
    this.name = "ServiceStartError";
    this.service = service;
  }
}

/** A running service process. */
export interface ServiceProcess {
  readonly name: string;
  readonly logPath: string;
  readonly child: Deno.ChildProcess;
  /** Stops the process: SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines of the log file. */
  logTail(lines?: number): Promise<string>;
}

/** Options for {@linkcode startProcess}. */
export interface StartProcessOptions {
  /** Service name used in messages. */
  name: string;
  command: string;
  args: string[];
  /** Folder for the log file. */
  logDir: string;
  env?: Record<string, string>;
  /** Start from an empty environment instead of this process's. @default false */
  clearEnv?: boolean;
  cwd?: string;
}

/** Starts `command` with its stdout and stderr appended to `<logDir>/<name>.log`. */
export async function startProcess(options: StartProcessOptions): Promise<ServiceProcess> {
  const logPath = join(options.logDir, `${options.name}.log`);
  // One append-mode handle per stream, so both copies always write at the end.
  const out = await Deno.open(logPath, { create: true, append: true });
  const err = await Deno.open(logPath, { append: true });
  const closeLogs = () => {
    for (const file of [out, err]) {
      try {
        file.close();
      } catch { /* already closed */ }
    }
  };
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(options.command, {
      args: options.args,
      env: options.env ?? {},
      clearEnv: options.clearEnv ?? false,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    closeLogs();
    throw new ServiceStartError(options.name, `cannot run ${options.command}: ${error}`, "");
  }
  const done = Promise.allSettled([
    appendTo(child.stdout, out),
    appendTo(child.stderr, err),
  ]).then(closeLogs);
  let stopped = false;
  const tail = (lines = 40) => logTail(logPath, lines);
  return {
    name: options.name,
    logPath,
    child,
    logTail: tail,
    async stop(graceMs = 10_000) {
      if (stopped) return;
      stopped = true;
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, graceMs);
      await child.status;
      clearTimeout(timer);
      await done;
    },
  };
}

/**
 * Copies a child's output into a file. Not `pipeTo(file.writable)`: under
 * Deno 2.9 that stalls after a few hundred KB unless the caller awaits it,
 * which leaves the child blocked on a full pipe.
 */
async function appendTo(stream: ReadableStream<Uint8Array>, file: Deno.FsFile): Promise<void> {
  for await (const chunk of stream) {
    let written = 0;
    while (written < chunk.length) written += await file.write(chunk.subarray(written));
  }
}

/** The last `lines` lines of a text file, or a note when it cannot be read. */
export async function logTail(path: string, lines = 40): Promise<string> {
  try {
    const text = await Deno.readTextFile(path);
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  } catch (error) {
    return `(no log at ${path}: ${error})`;
  }
}

/** Options for {@linkcode waitFor}. */
export interface WaitForOptions {
  /** Gives up after this long. */
  timeoutMs: number;
  /** What is awaited, for the error message. */
  what: string;
  /** The process whose exit ends the wait early. */
  process?: ServiceProcess;
  intervalMs?: number;
}

/**
 * Polls `probe` until it returns true. Fails with a {@linkcode ServiceStartError}
 * when the time runs out or the process exits first.
 */
export async function waitFor(
  probe: () => Promise<boolean>,
  options: WaitForOptions,
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let exited: Deno.CommandStatus | undefined;
  options.process?.child.status.then((status) => exited = status);
  const name = options.process?.name ?? options.what;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exited) {
      throw new ServiceStartError(
        name,
        `the process exited with code ${exited.code} before ${options.what}`,
        await (options.process?.logTail() ?? ""),
      );
    }
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error; // not ready yet
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 200));
  }
  throw new ServiceStartError(
    name,
    `timed out after ${options.timeoutMs} ms waiting for ${options.what}` +
      (lastError === undefined ? "" : ` (last probe error: ${lastError})`),
    await (options.process?.logTail() ?? ""),
  );
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export async function portOpen(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** Runs a command to completion; throws with its output when it fails. */
export async function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; what?: string } = {},
): Promise<string> {
  const output = await new Deno.Command(command, {
    args,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.env ? { env: options.env } : {}),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (!output.success) {
    throw new Error(
      `${options.what ?? command} failed (exit ${output.code}): ${command} ${args.join(" ")}\n${
        text.trimEnd().split("\n").slice(-30).join("\n")
      }`,
    );
  }
  return text;
}
