/**
 * The worker's one HTTP port: `/metrics` for Prometheus, `/healthz` for the
 * liveness probe and `/readyz` for the readiness probe.
 *
 * @module
 */

import type { Registry } from "prom-client";
import { logger } from "./logging.ts";

/** How the event-loop watchdog behind `/healthz` samples. */
export interface EventLoopCheckOptions {
  /** Time between samples. @default 500 */
  intervalMs?: number;
  /** A sample later than this, or an overdue one, makes `/healthz` fail. @default 1000 */
  maxLagMs?: number;
}

/** Options of {@linkcode startObservabilityServer}. */
export interface ObservabilityServerOptions {
  /** Port to listen on (all interfaces); 0 picks a free one. */
  port: number;
  /** Where `/metrics` reads from. */
  registry: Registry;
  /** The process's own view of liveness (e.g. not shutting down for good). */
  isAlive: () => boolean;
  /** Joined the consumer group and holds an assignment. */
  isReady: () => boolean;
  /** Why it is not ready, for the body of a failing `/readyz`. */
  notReadyReason?: () => string;
  /** Aborting it closes the server. */
  signal?: AbortSignal;
  /** Tuning of the event-loop check. */
  eventLoop?: EventLoopCheckOptions;
}

/** A running observability server. */
export interface ObservabilityServer {
  /** The port it listens on (the chosen one when asked for 0). */
  port: number;
  /** Stops listening and stops the event-loop watchdog. */
  close(): Promise<void>;
}

const log = logger("observability", "server");

/**
 * Serves `/metrics`, `/healthz` and `/readyz` on `options.port` until closed
 * or until `options.signal` aborts.
 */
export async function startObservabilityServer(
  options: ObservabilityServerOptions,
): Promise<ObservabilityServer> {
  const watchdog = new EventLoopWatchdog(options.eventLoop ?? {});
  const controller = new AbortController();
  const abort = () => controller.abort();
  options.signal?.addEventListener("abort", abort, { once: true });
  if (options.signal?.aborted) controller.abort();

  const { promise: listening, resolve } = Promise.withResolvers<number>();
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      hostname: "0.0.0.0",
      port: options.port,
      signal: controller.signal,
      onListen: ({ port }) => resolve(port),
    }, (request) => handle(request, options, watchdog));
  } catch (error) {
    watchdog.stop();
    options.signal?.removeEventListener("abort", abort);
    if (error instanceof Deno.errors.AddrInUse) {
      throw new Deno.errors.AddrInUse(
        `Port ${options.port} is already in use: set METRICS_PORT to a free port (0 picks one)`,
      );
    }
    throw error;
  }

  // Whoever ends the server (close() or the caller's signal), the watchdog
  // timer and the listener on the caller's signal must go with it.
  server.finished.then(() => {
    watchdog.stop();
    options.signal?.removeEventListener("abort", abort);
  });

  const port = await Promise.race([listening, server.finished.then(() => options.port)]);
  log.info("Observability server listening on port {port}", { port });
  return {
    port,
    async close() {
      controller.abort();
      await server.finished;
    },
  };
}

async function handle(
  request: Request,
  options: ObservabilityServerOptions,
  watchdog: EventLoopWatchdog,
): Promise<Response> {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("Method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
  }
  switch (new URL(request.url).pathname) {
    case "/metrics":
      return new Response(await options.registry.metrics(), {
        headers: { "content-type": options.registry.contentType },
      });
    case "/healthz": {
      if (!options.isAlive()) return probe(503, "not alive");
      const lagMs = watchdog.lagMs();
      if (lagMs > watchdog.maxLagMs) {
        return probe(503, `event loop unresponsive: ${Math.round(lagMs)} ms behind`);
      }
      return probe(200, "ok");
    }
    case "/readyz":
      return options.isReady()
        ? probe(200, "ok")
        : probe(503, options.notReadyReason?.() ?? "not joined or not assigned");
    default:
      return new Response("Not found\n", { status: 404 });
  }
}

function probe(status: number, text: string): Response {
  return new Response(`${text}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

/**
 * Measures how late a repeating timer fires. A blocked loop shows up two
 * ways: the last sample was late, or the next one is overdue right now (the
 * probe request got through before the timer did).
 */
class EventLoopWatchdog {
  readonly maxLagMs: number;
  #intervalMs: number;
  #lastLagMs = 0;
  #due: number;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: EventLoopCheckOptions) {
    this.#intervalMs = options.intervalMs ?? 500;
    this.maxLagMs = options.maxLagMs ?? 1000;
    this.#due = performance.now() + this.#intervalMs;
    this.#schedule();
  }

  /** The worse of the last sample's lag and how overdue the next sample is. */
  lagMs(): number {
    return Math.max(this.#lastLagMs, performance.now() - this.#due);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    const timer = setTimeout(() => {
      const now = performance.now();
      this.#lastLagMs = Math.max(0, now - this.#due);
      this.#due = now + this.#intervalMs;
      this.#schedule();
    }, this.#intervalMs);
    // The watchdog must never be what keeps a finished process alive.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }
}
