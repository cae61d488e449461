import assert from "node:assert/strict";
import { ConfigError, loadConsoleConfig } from "./mod.ts";

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConsoleConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems.map((p) => `${p.variable}: ${p.message}`);
  }
  throw new Error("expected a ConfigError");
}

Deno.test("the console defaults to a read-only loopback console on the workers' group", () => {
  const config = loadConsoleConfig({ KAFKA_JOB_CONSUMER_GROUP: "emails", KUBECONFIG: "/k" });
  assert.equal(config.console.host, "127.0.0.1");
  assert.equal(config.console.port, 8088);
  assert.equal(config.console.token, undefined);
  assert.deepEqual(config.console.consumerGroups, ["emails"]);
  assert.deepEqual(config.console.workerMetricsUrls, []);
  assert.equal(config.console.kubeconfig, "/k");
  assert.equal(config.worker.deadLetterTopic, "job-events.dlq");
});

Deno.test("console settings are read and mail settings are ignored", () => {
  const config = loadConsoleConfig({
    CONSOLE_PORT: "0",
    CONSOLE_TOKEN: "a-long-enough-token",
    CONSOLE_WORKER_METRICS_URLS: "http://w1:9090/metrics, http://w2:9090/metrics",
    CONSOLE_CONSUMER_GROUPS: "a,b",
    CONSOLE_KUBECONFIG: "/console",
    KUBECONFIG: "/other",
    SMTP_URL: "not even a URL",
  });
  assert.equal(config.console.port, 0);
  assert.equal(config.console.token, "a-long-enough-token");
  assert.equal(config.console.workerMetricsUrls.length, 2);
  assert.deepEqual(config.console.consumerGroups, ["a", "b"]);
  assert.equal(config.console.kubeconfig, "/console");
});

Deno.test("bad console settings name the variable and never echo the token", () => {
  const problems = problemsOf({
    CONSOLE_TOKEN: "short-secret",
    CONSOLE_WORKER_METRICS_URLS: "worker:9090",
    CONSOLE_PORT: "http",
    CONSOLE_SCRAPE_INTERVAL_MS: "10",
  });
  assert.deepEqual(problems.map((p) => p.split(":")[0]), [
    "CONSOLE_TOKEN",
    "CONSOLE_WORKER_METRICS_URLS",
    "CONSOLE_PORT",
    "CONSOLE_SCRAPE_INTERVAL_MS",
  ]);
  assert.ok(problems.every((p) => !p.includes("short-secret")));
  assert.match(problems[0] ?? "", /at least 16 characters long, got 12/);
});
