import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { databaseUrl, kafkaBrokers, uniqueName } from "../env/services.ts";
import { freePort } from "../env/process.ts";
import { produce, setupTopic, waitUntil } from "./fixtures/worker_harness.ts";

const MAIN = fileURLToPath(new URL("../../src/worker/main.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));
/** The permissions of `deno task worker`, so a missing one fails here. */
const PERMISSIONS = ["--allow-net", "--allow-env", "--allow-read", "--allow-sys", "--allow-run"];

function startMain(env: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, "--config", CONFIG, MAIN],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: response.status, body: await response.text() };
  } catch {
    return { status: 0, body: "" };
  }
}

Deno.test("deno task worker prints its configuration, serves probes and metrics, stops on SIGTERM", async () => {
  const config = await setupTopic("worker_main", { partitions: 2 });
  const admin = postgres(databaseUrl(), { max: 1, onnotice: () => {} });
  const database = uniqueName("worker_main");
  await admin`create database ${admin(database)}`;
  const url = new URL(databaseUrl());
  url.pathname = `/${database}`;
  const port = freePort();
  const child = startMain({
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "",
    KAFKA_BROKERS: kafkaBrokers().join(","),
    KAFKA_JOB_TOPIC: config.kafka.topic,
    KAFKA_JOB_CONSUMER_GROUP: config.worker.consumerGroup,
    KAFKA_WORKER_POOL_SIZE: "7",
    METRICS_PORT: String(port),
    DATABASE_URL: url.href,
    SMTP_HOST: "127.0.0.1",
    SMTP_PORT: String(freePort()),
  });
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stderr = new Response(child.stderr).text();
  try {
    let printed = "";
    while (printed.split("\n").length < 6) {
      const { value, done } = await stdout.read();
      if (done) break;
      printed += value;
    }
    assert.equal(
      printed.split("\n").slice(0, 5).join("\n"),
      [
        "Kafka job worker server configuration:",
        "  - Event-driven jobs: 7 concurrent workers",
        `  - Kafka brokers: [${kafkaBrokers().join(" ")}]`,
        `  - Kafka topic: ${config.kafka.topic}`,
        `  - Consumer group: ${config.worker.consumerGroup}`,
      ].join("\n"),
    );
    await waitUntil(async () => (await get(port, "/readyz")).status === 200, "/readyz", 25_000);
    assert.equal((await get(port, "/healthz")).status, 200);

    // A poison message needs neither the database nor SMTP: it is dead-lettered.
    await produce(config, [{ key: "k", value: "{broken" }]);
    await waitUntil(
      async () => /jobpool_dead_letters_total\{[^}]*\} 1/.test((await get(port, "/metrics")).body),
      "the dead letter in /metrics",
    );
    const metrics = (await get(port, "/metrics")).body;
    assert.match(metrics, /jobpool_worker_pool_size 7/);
    assert.match(metrics, /jobpool_jobs_processed_total\{[^}]*outcome="dead_lettered"[^}]*\} 1/);

    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0, await stderr);
    // The test sets neither secret, so both public development defaults are in use.
    // LogTape quotes string values in messages, and JSON escapes the quotes.
    assert.match(
      await stderr,
      /VERIFICATION_SECRET\\" is unset: using a public development secret/,
    );
    assert.match(await stderr, /WEBHOOK_SIGNING_SECRET\\" is unset/);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await child.status;
    await stdout.cancel().catch(() => {});
    await stderr.catch(() => "");
    await admin`drop database if exists ${admin(database)} with (force)`;
    await admin.end();
  }
});

Deno.test("deno task worker exits with 2 naming the variable of a bad configuration", async () => {
  const child = startMain({ KAFKA_WORKER_POOL_SIZE: "lots" });
  const { code, stderr } = await child.output();
  assert.equal(code, 2);
  assert.match(new TextDecoder().decode(stderr), /KAFKA_WORKER_POOL_SIZE/);
});
