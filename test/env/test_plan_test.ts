import assert from "node:assert/strict";
import { replaceDirectives } from "./keda.ts";
import { planPhases, testFiles, withNeeds } from "./test_plan.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

Deno.test("scaling test files run in a phase of their own, with KEDA and kube-controller-manager", () => {
  const files = ["src/a_test.ts", "test/integration/scaling_cycle_test.ts"];
  assert.deepEqual(planPhases(["src/", "test/"], files), [
    {
      name: "main",
      services: ["kafka", "postgres", "redis", "kube"],
      args: ["src/a_test.ts"],
    },
    {
      name: "scaling",
      services: ["kafka", "kube", "keda", "kcm"],
      args: ["test/integration/scaling_cycle_test.ts"],
    },
  ]);
  // Without scaling tests the folders are passed as given.
  assert.deepEqual(planPhases(["src/"], ["src/a_test.ts"]), [
    { name: "main", services: ["kafka", "postgres", "redis", "kube"], args: ["src/"] },
  ]);
  assert.deepEqual(
    planPhases(["test/integration/scaling_cycle_test.ts"], [
      "test/integration/scaling_cycle_test.ts",
    ])
      .map((p) => p.name),
    ["scaling"],
  );
});

Deno.test("the test files of this repository include the scaling tests", async () => {
  const files = await testFiles(["test/integration/"], ROOT);
  assert.ok(files.includes("test/integration/scaling_cycle_test.ts"));
  assert.ok(!files.includes("test/integration/scaling_stack.ts"));
});

Deno.test("KEDA and kube-controller-manager bring the kube-apiserver along", () => {
  assert.deepEqual(withNeeds(["keda"]), ["kube", "keda"]);
  assert.deepEqual(withNeeds(["kcm", "kafka"]), ["kafka", "kube", "kcm"]);
});

Deno.test("KEDA's replace directives are repeated as module version pairs", () => {
  const goMod = [
    "module github.com/kedacore/keda/v2",
    "replace (",
    "\t// pin k8s.io",
    "\tk8s.io/api => k8s.io/api v0.35.5",
    ")",
    "replace github.com/a/b v1.0.0 => github.com/a/b v1.0.1 // fixed",
  ].join("\n");
  assert.deepEqual(replaceDirectives(goMod), [
    "k8s.io/api => k8s.io/api v0.35.5",
    "github.com/a/b v1.0.0 => github.com/a/b v1.0.1",
  ]);
  assert.throws(() => replaceDirectives("replace x => ../x"), /not module@version/);
});
