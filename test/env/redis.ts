/**
 * A throwaway Redis server for tests and local runs: Debian's `redis-server`
 * (package `redis-server`) on a free port of 127.0.0.1, its data in a
 * temporary folder, no snapshots or append-only file (it is thrown away).
 *
 * @module
 */

import { join } from "node:path";
import { Redis } from "ioredis";
import {
  freePort,
  logTail,
  type ServiceProcess,
  ServiceStartError,
  startProcess,
  waitFor,
} from "./process.ts";

/** A running throwaway Redis server. */
export interface RedisService {
  /** `redis://127.0.0.1:PORT`. */
  readonly url: string;
  /** The server's version, e.g. `7.0.15`. */
  readonly version: string;
  /** The TCP port on 127.0.0.1. */
  readonly port: number;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

/** Options for {@linkcode startRedis}. */
export interface StartRedisOptions {
  /** Folder for `redis.log`. */
  logDir: string;
}

const SERVICE = "redis";
const APT_PACKAGE = "redis-server";
const START_ATTEMPTS = 3;
const READY_TIMEOUT_MS = 15_000;

/**
 * Starts a fresh Redis server.
 *
 * Fails with a {@linkcode ServiceStartError} naming `redis` and showing the
 * log tail when `redis-server` is missing or does not answer `PING`.
 */
export async function startRedis(options: StartRedisOptions): Promise<RedisService> {
  const program = await findRedisServer();
  const dataDir = await Deno.makeTempDir({ prefix: "jobpool-redis-" });
  const logPath = join(options.logDir, `${SERVICE}.log`);
  let server: ServiceProcess | undefined;
  let port = 0;
  let version = "";
  try {
    for (let attempt = 1; !server; attempt++) {
      port = freePort();
      const candidate = await startProcess({
        name: SERVICE,
        command: program,
        args: [
          ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dataDir],
          ...["--save", "", "--appendonly", "no", "--daemonize", "no"],
        ],
        logDir: options.logDir,
        cwd: dataDir,
      });
      try {
        await waitFor(async () => {
          version = await serverVersion(port);
          return true;
        }, { timeoutMs: READY_TIMEOUT_MS, what: "an answer to INFO", process: candidate });
        server = candidate;
      } catch (error) {
        await candidate.stop(1_000);
        // Another process may have taken the free port before the server bound it.
        const lostPort = (await logTail(logPath, 10)).includes("Address already in use");
        if (!lostPort || attempt >= START_ATTEMPTS) throw error;
      }
    }
  } catch (error) {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    if (error instanceof ServiceStartError) throw error;
    throw new ServiceStartError(SERVICE, String(error), await logTail(logPath));
  }
  const running = server;
  let stopped: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    version,
    port,
    stop() {
      stopped ??= running.stop(5_000).then(() => Deno.remove(dataDir, { recursive: true }));
      return stopped;
    },
  };
}

/** `redis-server` on the PATH or where Debian puts it. */
async function findRedisServer(): Promise<string> {
  const candidates = [
    ...(Deno.env.get("PATH") ?? "").split(":").filter(Boolean).map((dir) =>
      join(dir, "redis-server")
    ),
    "/usr/bin/redis-server",
  ];
  for (const path of candidates) {
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch {
      // Not there.
    }
  }
  throw new ServiceStartError(
    SERVICE,
    `redis-server not found: install it with \`apt-get install -y ${APT_PACKAGE}\``,
    "(not started)",
  );
}

/** The `redis_version` the server on `port` reports. */
async function serverVersion(port: number): Promise<string> {
  const client = new Redis({
    host: "127.0.0.1",
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    const info = await client.info("server");
    return /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown";
  } finally {
    client.disconnect();
  }
}
