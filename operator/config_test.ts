import assert from "node:assert/strict";
import { ConfigError } from "../src/config/env_reader.ts";
import { loadOperatorConfig } from "./config.ts";

Deno.test("loadOperatorConfig: defaults", () => {
  const config = loadOperatorConfig({ HOSTNAME: "op-0" });
  assert.equal(config.kubeconfigPath, undefined);
  assert.equal(config.lease.namespace, "default");
  assert.equal(config.lease.name, "jobpool-operator");
  assert.equal(config.lease.leaseDurationMs, 15_000);
  assert.match(config.identity, /^op-0_[0-9a-f]{8}$/);
  assert.equal(config.metricsPort, 8080);
  assert.equal(config.concurrency, 4);
  assert.equal(config.resyncPeriodMs, 300_000);
});

Deno.test("loadOperatorConfig: reads the variables", () => {
  const config = loadOperatorConfig({
    KUBECONFIG: "/a/config:/b/config",
    OPERATOR_WATCH_NAMESPACE: "team-a",
    POD_NAMESPACE: "ops",
    OPERATOR_METRICS_PORT: "9000",
    LOG_LEVEL: "debug",
  });
  assert.equal(config.kubeconfigPath, "/a/config");
  assert.equal(config.watchNamespace, "team-a");
  assert.equal(config.lease.namespace, "ops");
  assert.equal(config.metricsPort, 9000);
  assert.equal(config.logLevel, "debug");
});

Deno.test("loadOperatorConfig: reports every bad variable at once", () => {
  const error = assert.throws(
    () =>
      loadOperatorConfig({
        OPERATOR_CONCURRENCY: "0",
        OPERATOR_LEASE_DURATION_SECONDS: "5",
        OPERATOR_LEASE_RENEW_DEADLINE_SECONDS: "10",
      }),
    ConfigError,
  );
  void error;
});
