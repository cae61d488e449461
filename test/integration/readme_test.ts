/**
 * The README's examples do what it says: its JobWorkerPool passes the real
 * API server's schema, and its configuration error is what the worker prints.
 */

import assert from "node:assert/strict";
import { jobWorkerPoolCrd } from "../../operator/api/mod.ts";
import { ConfigError, loadConfig } from "../../src/config/mod.ts";
import { kubectlOk } from "../env/kubectl.ts";
import { uniqueName } from "../env/services.ts";

const README = await Deno.readTextFile(new URL("../../README.md", import.meta.url));

function codeBlocks(language: string): string[] {
  return [...README.matchAll(new RegExp("```" + language + "\\n([\\s\\S]*?)```", "g"))]
    .map((m) => m[1] ?? "");
}

Deno.test("the README's JobWorkerPool is accepted and defaulted by the real API server", async () => {
  const pools = codeBlocks("yaml").filter((block) => block.includes("kind: JobWorkerPool"));
  assert.equal(pools.length, 1);
  await kubectlOk(["apply", "--server-side", "-f", "-"], {
    stdin: JSON.stringify(jobWorkerPoolCrd()),
  });
  await kubectlOk(["wait", "--for=condition=Established", "crd/jobworkerpools.jobpool.dev"]);
  const namespace = uniqueName("readme").replaceAll("_", "-");
  await kubectlOk(["create", "namespace", namespace]);
  const pool = pools[0]!.replace("namespace: jobs", `namespace: ${namespace}`);
  const applied = JSON.parse(
    await kubectlOk(["apply", "--dry-run=server", "-o", "json", "-f", "-"], { stdin: pool }),
  );
  assert.equal(applied.spec.kafka.consumerGroup ?? "", "");
  assert.equal(applied.spec.topicProvisioning.strimzi.deletionPolicy, "Retain");
  assert.deepEqual(applied.spec.jobTypes, ["job.email.*"]);
});

Deno.test("the README's configuration error is the one the worker prints", () => {
  const quoted = /`(Invalid configuration: KAFKA_WORKER_POOL_SIZE[^`]*)`/.exec(README)?.[1];
  assert.ok(quoted, "the README quotes a configuration error");
  assert.throws(
    () => loadConfig({ KAFKA_WORKER_POOL_SIZE: "0" }),
    (error: unknown) => error instanceof ConfigError && error.message === quoted,
  );
});
