import assert from "node:assert/strict";
import { Yaml } from "cdk8s";
import { applyDefaults, jobWorkerPoolCrd, newJobWorkerPool } from "../api/mod.ts";
import { examples } from "./examples.ts";
import { CRD_PATHS, GENERATED_HEADER, generatedFiles } from "./manifests.ts";
import { synthesizePool } from "./synthesize.ts";

Deno.test("generated files are deterministic and marked as generated", () => {
  const first = generatedFiles();
  assert.deepEqual(first, generatedFiles());
  for (const [path, content] of first) {
    assert.ok(content.startsWith(GENERATED_HEADER), path);
    assert.ok(content.endsWith("\n"), path);
  }
});

Deno.test("both CRD copies hold the CRD, without YAML anchors", () => {
  const files = generatedFiles();
  for (const path of CRD_PATHS) {
    assert.equal(files.get(path), `${GENERATED_HEADER}${Yaml.stringify(jobWorkerPoolCrd())}`);
  }
  for (const [path, content] of files) {
    assert.doesNotMatch(content, /(^|\s)[&*]a\d+(\s|$)/m, `${path} uses YAML anchors`);
  }
});

Deno.test("the examples cover SASL and no SASL, and synthesize", () => {
  const pools = examples();
  assert.ok(pools.some((example) => example.pool.spec.kafka.sasl));
  assert.ok(pools.some((example) => !example.pool.spec.kafka.sasl));
  for (const { pool } of pools) {
    const spec = applyDefaults(pool.spec);
    assert.ok(spec.replicas.min <= spec.replicas.max, pool.metadata.name);
    assert.ok(spec.replicas.max <= spec.kafka.topic.partitions, pool.metadata.name);
    const objects = synthesizePool(
      newJobWorkerPool({ ...pool.metadata, namespace: "example" }, pool.spec),
    );
    assert.equal(objects.deployment.metadata.name, `${pool.metadata.name}-worker`);
  }
});
