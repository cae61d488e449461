/**
 * The chart's worker PodMonitor selects the Pods the operator generates: its
 * `matchLabels` are all on the synthesized worker Pod template.
 *
 * @module
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Yaml } from "cdk8s";
import { newJobWorkerPool } from "../../operator/api/mod.ts";
import { synthesizePool } from "../../operator/synth/mod.ts";
import { kube } from "../env/services.ts";

const CHART = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "charts",
  "jobpool-operator",
);

interface Manifest {
  kind: string;
  spec?: { selector?: { matchLabels?: Record<string, string> } };
}

/** `helm template` of the chart with `--set` values, parsed. */
async function render(sets: string[]): Promise<Manifest[]> {
  const home = await Deno.makeTempDir({ prefix: "jobpool-helm-" });
  try {
    const output = await new Deno.Command(kube().helm, {
      args: [
        "template",
        "jp",
        CHART,
        "--namespace=jobpool-system",
        ...sets.map((s) => `--set=${s}`),
      ],
      env: {
        HELM_CACHE_HOME: join(home, "cache"),
        HELM_CONFIG_HOME: join(home, "config"),
        HELM_DATA_HOME: join(home, "data"),
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    assert.ok(output.success, `helm template failed: ${decoder.decode(output.stderr)}`);
    const file = join(home, "out.yaml");
    await Deno.writeTextFile(file, decoder.decode(output.stdout));
    return (Yaml.load(file) as (Manifest | null)[]).filter((doc): doc is Manifest => !!doc);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("the workers' PodMonitor selects the worker Pods the operator generates", async () => {
  const objects = await render(["serviceMonitor.workers.enabled=true"]);
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
