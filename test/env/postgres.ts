/**
 * A throwaway PostgreSQL server for tests and local runs: `initdb` into a
 * temporary folder, `postgres` on a free port of 127.0.0.1, trust auth, no
 * durability (it is thrown away anyway) unless asked for: benchmarks and
 * fault drills run with PostgreSQL's durable defaults. Drills stop and
 * restart it ({@linkcode PostgresService.halt}, {@linkcode PostgresService.restart}).
 *
 * Uses the newest Debian server binaries under `/usr/lib/postgresql/<major>/bin`
 * (package `postgresql`). PostgreSQL refuses to run as root, so when the test
 * runs as root the server runs as the unprivileged `postgres` user through
 * `setpriv`, which replaces itself with the server so signals reach it.
 *
 * @module
 */

import { dirname, join } from "node:path";
import postgres from "postgres";
import { exists } from "./cache.ts";
import {
  freePort,
  logTail,
  type ServiceProcess,
  ServiceStartError,
  startProcess,
  waitFor,
} from "./process.ts";

/** A running throwaway PostgreSQL server. */
export interface PostgresService {
  /** URL of the `jobpool` database, e.g. `postgres://postgres@127.0.0.1:PORT/jobpool`. */
  readonly url: string;
  /** What the server answers to `select version()`, e.g. `PostgreSQL 15.14 (Debian …) on …`. */
  readonly version: string;
  /** The TCP port on 127.0.0.1. */
  readonly port: number;
  /** Fast shutdown (SIGINT), then removes the data folder. Safe to call twice. */
  stop(): Promise<void>;
  /**
   * Stops the server and keeps its data: `fast` (SIGINT: sessions are
   * terminated, as on a restart) or `immediate` (SIGQUIT: like a crash).
   */
  halt(mode?: "fast" | "immediate"): Promise<void>;
  /** Starts a halted server again on the same port and data. */
  restart(): Promise<void>;
  /**
   * Creates an empty database and returns its URL, so that each test file can
   * work in a database of its own. `name` must be a lowercase identifier.
   */
  createDatabase(name: string): Promise<string>;
}

/** Options for {@linkcode startPostgres}. */
export interface StartPostgresOptions {
  /** Folder for `postgres.log` (initdb output and the server log). */
  logDir: string;
  /**
   * Keep PostgreSQL's durable defaults (`fsync`, `synchronous_commit`,
   * full page writes). Off by default: tests throw the data away.
   * @default false
   */
  durable?: boolean;
}

const SERVICE = "postgres";
const SUPERUSER = "postgres";
const INSTALL_ROOT = "/usr/lib/postgresql";
const APT_PACKAGE = "postgresql";
const START_ATTEMPTS = 3;
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;

/**
 * Starts a fresh PostgreSQL server with an empty `jobpool` database.
 *
 * Fails with a {@linkcode ServiceStartError} naming `postgres` and showing the
 * log tail when the binaries are missing or the server does not come up.
 */
export async function startPostgres(options: StartPostgresOptions): Promise<PostgresService> {
  const binDir = await findBinDir();
  const logPath = join(options.logDir, `${SERVICE}.log`);
  const owner = Deno.uid() === 0 ? await unprivilegedOwner() : undefined;
  const baseDir = await Deno.makeTempDir({ prefix: "jobpool-postgres-" });
  const dataDir = join(baseDir, "data");
  const socketDir = join(baseDir, "socket");
  let server: ServiceProcess | undefined;
  try {
    await Deno.mkdir(socketDir);
    if (owner) {
      await Deno.chown(baseDir, owner.uid, owner.gid);
      await Deno.chown(socketDir, owner.uid, owner.gid);
    }
    await initdb({ binDir, dataDir, owner, logPath });
    let port = 0;
    let version = "";
    const durability = options.durable
      ? []
      : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"];
    const launch = async (): Promise<ServiceProcess> => {
      const candidate = await startProcess({
        name: SERVICE,
        ...asOwner(owner, join(binDir, "postgres"), [
          ...["-D", dataDir, "-p", String(port), "-k", socketDir],
          ...["-c", "listen_addresses=127.0.0.1", ...durability],
        ]),
        logDir: options.logDir,
        cwd: baseDir,
      });
      try {
        await waitFor(async () => {
          const [row] = await query(adminUrl(port, "postgres"), "select version() as version");
          version = String(row?.["version"]);
          return true;
        }, { timeoutMs: READY_TIMEOUT_MS, what: "the first select version()", process: candidate });
        return candidate;
      } catch (error) {
        await candidate.stop(1_000);
        throw error;
      }
    };
    for (let attempt = 1; !server; attempt++) {
      port = freePort();
      try {
        server = await launch();
      } catch (error) {
        // Another process may have taken the free port before the server bound it.
        const lostPort = (await logTail(logPath, 10)).includes("already in use");
        if (!lostPort || attempt >= START_ATTEMPTS) throw error;
      }
    }
    await query(adminUrl(port, "postgres"), 'create database "jobpool"');
    let running = server;
    let stopped: Promise<void> | undefined;
    return {
      url: adminUrl(port, "jobpool"),
      version,
      port,
      stop() {
        stopped ??= shutdown(running, baseDir);
        return stopped;
      },
      async halt(mode = "fast") {
        try {
          running.child.kill(mode === "fast" ? "SIGINT" : "SIGQUIT");
        } catch { /* gone already */ }
        await running.child.status;
        await running.stop(0);
      },
      async restart() {
        running = await launch();
      },
      async createDatabase(name: string): Promise<string> {
        if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
          throw new TypeError(
            `Cannot create database "${name}": use 1 to 63 lowercase letters, digits or underscores, not starting with a digit`,
          );
        }
        try {
          await query(adminUrl(port, "postgres"), `create database "${name}"`);
        } catch (error) {
          throw new Error(
            `Cannot create database "${name}": ${
              errorText(error)
            }. Give each test file a database name of its own`,
            { cause: error },
          );
        }
        return adminUrl(port, name);
      },
    };
  } catch (error) {
    await server?.stop(1_000);
    await Deno.remove(baseDir, { recursive: true }).catch(() => {});
    if (error instanceof ServiceStartError) throw error;
    throw new ServiceStartError(SERVICE, errorText(error), await logTail(logPath));
  }
}

/** The newest `/usr/lib/postgresql/<major>/bin` holding `initdb` and `postgres`. */
async function findBinDir(): Promise<string> {
  const majors: number[] = [];
  try {
    for await (const entry of Deno.readDir(INSTALL_ROOT)) {
      if (/^\d+$/.test(entry.name)) majors.push(Number(entry.name));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  majors.sort((a, b) => b - a);
  for (const major of majors) {
    const binDir = join(INSTALL_ROOT, String(major), "bin");
    if (await exists(join(binDir, "initdb")) && await exists(join(binDir, "postgres"))) {
      return binDir;
    }
  }
  throw new ServiceStartError(
    SERVICE,
    `no PostgreSQL server binaries found in ${INSTALL_ROOT}/*/bin: install them with \`apt-get install -y ${APT_PACKAGE}\``,
    "(not started)",
  );
}

/** The unprivileged user that owns the cluster when the test runs as root. */
interface Owner {
  uid: number;
  gid: number;
}

/** The `postgres` user (created by the Debian package), created here when missing. */
async function unprivilegedOwner(): Promise<Owner> {
  let owner = await lookupUser(SUPERUSER);
  if (!owner) {
    await command("useradd", [
      ...["--system", "--user-group", "--no-create-home"],
      ...["--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", SUPERUSER],
    ]);
    owner = await lookupUser(SUPERUSER);
  }
  if (!owner) {
    throw new Error(
      `PostgreSQL refuses to run as root and the user "${SUPERUSER}" could not be created: create an unprivileged "${SUPERUSER}" user or run the tests as a normal user`,
    );
  }
  return owner;
}

/** The uid and gid of a local user, from `/etc/passwd`. */
async function lookupUser(name: string): Promise<Owner | undefined> {
  const passwd = await Deno.readTextFile("/etc/passwd");
  for (const line of passwd.split("\n")) {
    const [user, , uid, gid] = line.split(":");
    if (user === name && uid && gid) return { uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

/** `command args` as given, or run as `owner` through `setpriv` when there is one. */
function asOwner(
  owner: Owner | undefined,
  program: string,
  args: string[],
): { command: string; args: string[] } {
  if (!owner) return { command: program, args };
  return {
    command: "setpriv",
    args: [
      ...[`--reuid=${owner.uid}`, `--regid=${owner.gid}`, "--clear-groups", "--"],
      program,
      ...args,
    ],
  };
}

/** Options for {@linkcode initdb}. */
interface InitdbOptions {
  binDir: string;
  dataDir: string;
  owner: Owner | undefined;
  logPath: string;
}

/** Creates the cluster, appending initdb's output to the service log. */
async function initdb(options: InitdbOptions): Promise<void> {
  const { command: program, args } = asOwner(options.owner, join(options.binDir, "initdb"), [
    ...["-D", options.dataDir, "-U", SUPERUSER, "--auth=trust"],
    ...["--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions"],
  ]);
  const output = await new Deno.Command(program, {
    args,
    cwd: dirname(options.dataDir),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const text = decoder.decode(output.stdout) + decoder.decode(output.stderr);
  await Deno.writeTextFile(options.logPath, `$ ${program} ${args.join(" ")}\n${text}`, {
    append: true,
  });
  if (!output.success) {
    throw new ServiceStartError(
      SERVICE,
      `initdb failed with exit code ${output.code}`,
      await logTail(options.logPath),
    );
  }
}

/** Runs a short command; throws with its output when it fails. */
async function command(program: string, args: string[]): Promise<void> {
  const output = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(
      `${program} ${args.join(" ")} failed with exit code ${output.code}: ${
        new TextDecoder().decode(output.stderr).trim()
      }`,
    );
  }
}

/** The URL of database `database` for the superuser on 127.0.0.1:`port`. */
function adminUrl(port: number, database: string): string {
  return `postgres://${SUPERUSER}@127.0.0.1:${port}/${database}`;
}

/** Runs one statement on a short-lived connection and returns its rows. */
async function query(url: string, statement: string): Promise<Record<string, unknown>[]> {
  const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    return [...await sql.unsafe(statement)];
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Fast shutdown (SIGINT), SIGKILL when it lingers, then removes the cluster. */
async function shutdown(server: ServiceProcess, baseDir: string): Promise<void> {
  try {
    server.child.kill("SIGINT");
  } catch { /* already gone */ }
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    server.child.status,
    new Promise((resolve) => timer = setTimeout(resolve, STOP_GRACE_MS)),
  ]);
  clearTimeout(timer);
  await server.stop(1_000);
  await Deno.remove(baseDir, { recursive: true });
}

/** A one-line description of a thrown value. */
function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
