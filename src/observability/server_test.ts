import assert from "node:assert/strict";
import { createWorkerMetrics } from "./metrics.ts";
import {
  type ObservabilityServer,
  type ObservabilityServerOptions,
  startObservabilityServer,
} from "./server.ts";

async function get(
  port: number,
  path: string,
): Promise<{ status: number; type: string; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return {
    status: response.status,
    type: response.headers.get("content-type") ?? "",
    body: await response.text(),
  };
}

/** A server on a free port with a fresh registry, alive and ready; `options` override. */
function startServer(
  options: Partial<ObservabilityServerOptions> = {},
): Promise<ObservabilityServer> {
  return startObservabilityServer({
    port: 0,
    registry: createWorkerMetrics().registry,
    isAlive: () => true,
    isReady: () => true,
    ...options,
  });
}

function blockEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Busy-wait on purpose: the point is a loop that cannot run timers.
  }
}

Deno.test("/metrics serves the registry in Prometheus text format", async () => {
  const metrics = createWorkerMetrics();
  metrics.setPoolSize(7);
  const server = await startServer({ registry: metrics.registry });
  try {
    assert.notEqual(server.port, 0);
    const { status, type, body } = await get(server.port, "/metrics");
    assert.equal(status, 200);
    assert.equal(type, "text/plain; version=0.0.4; charset=utf-8");
    assert.match(body, /^jobpool_worker_pool_size 7$/m);
    assert.match(body, /# TYPE jobpool_jobs_processed_total counter/);
  } finally {
    await server.close();
  }
});

Deno.test("/readyz follows isReady and /healthz follows isAlive", async () => {
  let ready = false;
  let alive = true;
  const server = await startServer({ isAlive: () => alive, isReady: () => ready });
  try {
    assert.equal((await get(server.port, "/readyz")).status, 503);
    ready = true;
    assert.equal((await get(server.port, "/readyz")).status, 200);
    assert.equal((await get(server.port, "/healthz")).status, 200);
    alive = false;
    const unhealthy = await get(server.port, "/healthz");
    assert.equal(unhealthy.status, 503);
    assert.match(unhealthy.body, /not alive/);
  } finally {
    await server.close();
  }
});

Deno.test("/healthz fails after the event loop was blocked", async () => {
  const server = await startServer({
    // A long interval keeps the late sample in place while the probe runs.
    eventLoop: { intervalMs: 2_000, maxLagMs: 200 },
  });
  try {
    assert.equal((await get(server.port, "/healthz")).status, 200);
    blockEventLoop(2_600);
    const probe = await get(server.port, "/healthz");
    assert.equal(probe.status, 503);
    assert.match(probe.body, /event loop unresponsive/);
  } finally {
    await server.close();
  }
});

Deno.test("unknown paths are 404 and other methods 405", async () => {
  const server = await startServer();
  try {
    assert.equal((await get(server.port, "/nope")).status, 404);
    const post = await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: "POST" });
    await post.body?.cancel();
    assert.equal(post.status, 405);
  } finally {
    await server.close();
  }
});

Deno.test("aborting the signal closes the server", async () => {
  const controller = new AbortController();
  const server = await startServer({ signal: controller.signal });
  controller.abort();
  await server.close();
  await assert.rejects(fetch(`http://127.0.0.1:${server.port}/healthz`));
});

Deno.test("a port in use is named in the error", async () => {
  const first = await startServer();
  try {
    await assert.rejects(
      startServer({ port: first.port }),
      new RegExp(`Port ${first.port} is already in use: set METRICS_PORT`),
    );
  } finally {
    await first.close();
  }
});
