import assert from "node:assert/strict";
import { jobWorkerPoolCrd, RESERVED_ENV_NAMES, type SchemaNode } from "./mod.ts";

interface Node extends SchemaNode {
  anyOf?: unknown[];
  "x-kubernetes-validations"?: { rule: string; message: string }[];
}

function walk(node: Node, path: string, visit: (node: Node, path: string) => void): void {
  visit(node, path);
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    walk(child as Node, `${path}.${key}`, visit);
  }
  if (node.items) walk(node.items as Node, `${path}[]`, visit);
  if (typeof node.additionalProperties === "object") {
    walk(node.additionalProperties as Node, `${path}{}`, visit);
  }
}

function rootSchema(): Node {
  const version = jobWorkerPoolCrd().spec.versions[0];
  assert.ok(version);
  return version.schema.openAPIV3Schema as Node;
}

Deno.test("the CRD names the resource", () => {
  const crd = jobWorkerPoolCrd();
  assert.equal(crd.metadata.name, "jobworkerpools.jobpool.dev");
  assert.equal(crd.spec.group, "jobpool.dev");
  assert.equal(crd.spec.scope, "Namespaced");
  assert.deepEqual(crd.spec.names.shortNames, ["jwp"]);
  const [version] = crd.spec.versions;
  assert.equal(version?.name, "v1alpha1");
  assert.deepEqual(version?.subresources, { status: {} });
  assert.deepEqual(version?.additionalPrinterColumns.map((column) => column.name), [
    "Replicas",
    "Lag",
    "Ready",
    "Age",
  ]);
});

Deno.test("the schema is structural: every node has a type, none mixes properties and maps", () => {
  walk(rootSchema(), "", (node, path) => {
    if (node["x-kubernetes-int-or-string"]) {
      assert.equal(node.type, undefined, path);
      assert.deepEqual(node.anyOf, [{ type: "integer" }, { type: "string" }], path);
    } else {
      assert.ok(node.type, `${path} has a type`);
    }
    assert.ok(!(node.properties && node.additionalProperties), `${path} mixes properties and map`);
    for (const key of node.required ?? []) {
      assert.ok(node.properties?.[key], `${path} requires a declared ${key}`);
    }
  });
});

Deno.test("the CEL rules cover the cross-field checks", () => {
  const rules: string[] = [];
  walk(rootSchema(), "", (node) => {
    for (const rule of node["x-kubernetes-validations"] ?? []) rules.push(rule.rule);
  });
  assert.ok(rules.includes("self.min <= self.max"));
  assert.ok(rules.includes("self >= oldSelf"));
  assert.ok(
    rules.some((rule) => rule.includes("self.replicas.max <= self.kafka.topic.partitions")),
  );
  assert.ok(rules.some((rule) => RESERVED_ENV_NAMES.every((name) => rule.includes(`'${name}'`))));
});

Deno.test("jobWorkerPoolCrd returns a fresh object each call", () => {
  const first = jobWorkerPoolCrd();
  first.spec.names.shortNames.push("x");
  assert.deepEqual(jobWorkerPoolCrd().spec.names.shortNames, ["jwp"]);
});

Deno.test("object defaults in the CRD carry their nested defaults", () => {
  const spec = rootSchema().properties?.["spec"];
  assert.deepEqual(spec?.properties?.["pool"]?.default, { min: 1, max: 10 });
  assert.deepEqual(spec?.properties?.["topicProvisioning"]?.default, { mode: "none" });
  walk(rootSchema(), "", (node, path) => {
    if (node.type !== "object" || !node.properties || node.default === undefined) return;
    for (const [key, child] of Object.entries(node.properties)) {
      if (child.default === undefined) continue;
      assert.ok(key in (node.default as object), `${path}.default lacks ${key}`);
    }
  });
});
