/**
 * `helm template` of single options against the code they serve: the worker
 * PodMonitor selects the Pods the operator generates (its `matchLabels` are all
 * on the synthesized worker Pod template), and `lag.enabled` gives the operator
 * what `OPERATOR_LAG` needs (the variable, `secrets: get`, Kafka egress).
 *
 * @module
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { newJobWorkerPool } from "../../operator/api/mod.ts";
import { synthesizePool } from "../../operator/synth/mod.ts";
import { helm, parseYaml } from "../env/helm.ts";

const CHART = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "charts",
  "jobpool-operator",
);

// deno-lint-ignore no-explicit-any
type Manifest = any;

/** `helm template` of the chart with `--set` values, parsed; fails when helm does. */
async function render(sets: string[], extra: string[] = []): Promise<Manifest[]> {
  const result = await tryRender(sets, extra);
  assert.ok(result.success, `helm template failed: ${result.stderr}`);
  return result.objects;
}

/** `helm template` of the chart with `--set` values. */
async function tryRender(
  sets: string[],
  extra: string[] = [],
): Promise<{ success: boolean; stderr: string; objects: Manifest[] }> {
  const result = await helm([
    "template",
    "jp",
    CHART,
    "--namespace=jobpool-system",
    ...sets.map((s) => `--set=${s}`),
    ...extra,
  ]);
  if (!result.success) return { success: false, stderr: result.stderr, objects: [] };
  return {
    success: true,
    stderr: result.stderr,
    objects: await parseYaml<Manifest>(result.stdout),
  };
}

Deno.test("the workers' PodMonitor selects the worker Pods the operator generates", async () => {
  const objects = await render(["serviceMonitor.workers.enabled=true"], [
    "--api-versions=monitoring.coreos.com/v1/PodMonitor",
  ]);
  const podMonitor = objects.find((o) => o.kind === "PodMonitor");
  assert.ok(podMonitor, "serviceMonitor.workers.enabled renders a PodMonitor");
  const selector = podMonitor.spec?.selector?.matchLabels ?? {};
  assert.ok(Object.keys(selector).length > 0, "the PodMonitor selects by labels");

  const pool = newJobWorkerPool(
    { name: "emails", namespace: "jobs", uid: "u" },
    { image: "worker:1", kafka: { bootstrapServers: ["kafka:9092"] } },
  );
  const { deployment } = synthesizePool(pool);
  const podLabels =
    (deployment.spec as { template: { metadata: { labels: Record<string, string> } } })
      .template.metadata.labels;
  for (const [label, value] of Object.entries(selector)) {
    assert.equal(podLabels[label], value, `worker Pods lack the PodMonitor's label ${label}`);
  }
});

Deno.test("lag.enabled sets OPERATOR_LAG, grants secrets get and opens egress to Kafka", async () => {
  const operatorEnv = (objects: Manifest[]): Record<string, string> => {
    const deployment = objects.find((o) => o.kind === "Deployment");
    const env: { name: string; value?: string }[] = deployment.spec.template.spec.containers[0].env;
    return Object.fromEntries(env.map((e) => [e.name, e.value ?? ""]));
  };
  const ruleFor = (objects: Manifest[], resource: string) =>
    objects.find((o) => o.kind === "ClusterRole").rules
      .find((r: { resources: string[] }) => r.resources.includes(resource));
  const kafkaEgress = (objects: Manifest[]) =>
    objects.find((o) => o.kind === "NetworkPolicy").spec.egress
      .find((e: { ports: { port: number }[] }) => e.ports.some((p) => p.port === 9092));

  const off = await render(["networkPolicy.enabled=true"]);
  assert.equal(operatorEnv(off)["OPERATOR_LAG"], undefined);
  assert.equal(ruleFor(off, "secrets"), undefined, "no Secrets without lag");
  assert.equal(kafkaEgress(off), undefined, "no Kafka egress without lag");

  const on = await render([
    "networkPolicy.enabled=true",
    "lag.enabled=true",
    "lag.intervalSeconds=60",
    "lag.kafkaPorts={9092,9096}",
  ]);
  assert.equal(operatorEnv(on)["OPERATOR_LAG"], "true");
  assert.equal(operatorEnv(on)["OPERATOR_LAG_INTERVAL_SECONDS"], "60");
  assert.deepEqual(ruleFor(on, "secrets")?.verbs, ["get"]);
  assert.deepEqual(kafkaEgress(on)?.ports.map((p: { port: number }) => p.port), [9092, 9096]);

  const bad = await tryRender(["lag.intervalSeconds=1"]);
  assert.equal(bad.success, false);
  assert.match(bad.stderr, /lag\.intervalSeconds|intervalSeconds/);
});
