import assert from "node:assert/strict";
import {
  installObjectList,
  OPERATOR_CLUSTER_RULES,
  OPERATOR_NAMESPACE_RULES,
  synthesizeInstall,
} from "./install.ts";

Deno.test("the install bundle has namespace, RBAC and the operator, in apply order", () => {
  const kinds = installObjectList(synthesizeInstall()).map((object) => object.kind);
  assert.deepEqual(kinds, [
    "Namespace",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Deployment",
  ]);
});

Deno.test("the ClusterRole grants exactly the operator's resources, no Secrets", () => {
  const resources = OPERATOR_CLUSTER_RULES.flatMap((rule) =>
    rule.resources.map((resource) => `${rule.apiGroups.join()}/${resource}`)
  );
  assert.deepEqual(resources.sort(), [
    "/events",
    "apps/deployments",
    "jobpool.dev/jobworkerpools",
    "jobpool.dev/jobworkerpools/finalizers",
    "jobpool.dev/jobworkerpools/status",
    "kafka.strimzi.io/kafkatopics",
    "keda.sh/scaledobjects",
    "keda.sh/triggerauthentications",
  ]);
  assert.ok(OPERATOR_CLUSTER_RULES.every((rule) => !rule.verbs.includes("*")));
  assert.deepEqual(OPERATOR_NAMESPACE_RULES.map((rule) => rule.resources), [["leases"]]);
});

Deno.test("the operator runs under restricted pod security in its namespace", () => {
  const install = synthesizeInstall({ namespace: "ops", image: "operator:test" });
  assert.equal(install.namespace.metadata.name, "ops");
  assert.equal(
    install.namespace.metadata.labels?.["pod-security.kubernetes.io/enforce"],
    "restricted",
  );
  const deployment = install.operator.find((object) => object.kind === "Deployment");
  const pod = (deployment?.spec as {
    template: {
      spec: {
        serviceAccountName: string;
        containers: { image: string; securityContext: Record<string, unknown> }[];
      };
    };
  }).template.spec;
  assert.equal(pod.serviceAccountName, "jobpool-operator");
  assert.equal(pod.containers[0]?.image, "operator:test");
  assert.deepEqual(pod.containers[0]?.securityContext, {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    seccompProfile: { type: "RuntimeDefault" },
  });
  assert.ok(!JSON.stringify(install).includes("cdk8s.io/metadata.addr"));
});

Deno.test("the ClusterRole's verbs are exactly the calls the operator makes", () => {
  const verbs = Object.fromEntries(
    OPERATOR_CLUSTER_RULES.flatMap((rule) =>
      rule.resources.map((resource) => [resource, rule.verbs.join(" ")])
    ),
  );
  const generated = "get list watch create patch delete";
  assert.deepEqual(verbs, {
    "jobworkerpools": "get list watch patch",
    "jobworkerpools/status": "patch",
    "jobworkerpools/finalizers": "update",
    "deployments": generated,
    "scaledobjects": generated,
    "triggerauthentications": generated,
    "kafkatopics": generated,
    "events": "create",
  });
  assert.deepEqual(OPERATOR_NAMESPACE_RULES.map((rule) => rule.verbs), [[
    "get",
    "create",
    "update",
  ]]);
});
