/**
 * The Helm chart without a cluster: `helm lint` and `helm template` with the
 * default values and with every optional object on, `values.schema.json`
 * rejecting bad values with helm's own error, and the chart agreeing with the
 * code it deploys (RBAC = the generated install bundle's, CRD = the
 * generator's, dashboard = the metrics the worker and the operator export).
 *
 * @module
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Yaml } from "cdk8s";
import { CRD_NAME } from "../../operator/api/mod.ts";
import { helm, parseYaml } from "../env/helm.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CHART = join(ROOT, "charts", "jobpool-operator");

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** `helm template` of the chart with `values` (written to a file); fails the test on error. */
async function render(values: Record<string, unknown> = {}, extra: string[] = []) {
  const file = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    await Deno.writeTextFile(file, JSON.stringify(values));
    const result = await helm([
      "template",
      "jp",
      CHART,
      "--namespace=jobpool-system",
      `--values=${file}`,
      ...extra,
    ]);
    assert.ok(result.success, `helm template failed:\n${result.stderr}`);
    return await parseYaml<Manifest>(result.stdout);
  } finally {
    await Deno.remove(file);
  }
}

function find(objects: Manifest[], kind: string, name?: string): Manifest {
  const found = objects.find((o) => o.kind === kind && (!name || o.metadata.name === name));
  assert.ok(found, `no ${kind}${name ? ` ${name}` : ""} in ${objects.map((o) => o.kind)}`);
  return found;
}

// deno-lint-ignore no-explicit-any
type Json = any;

/** Every optional object on, and most values away from their defaults. */
const FULL_VALUES_FILE = join(CHART, "ci", "full-values.yaml");
const FULL_VALUES: Json = Yaml.load(FULL_VALUES_FILE)[0];

Deno.test("helm lint passes with the default values and with every option set", async () => {
  const lint = await helm(["lint", "--strict", CHART]);
  assert.ok(lint.success, `helm lint failed:\n${lint.stdout}${lint.stderr}`);
  const full = await helm(["lint", "--strict", CHART, `--values=${FULL_VALUES_FILE}`]);
  assert.ok(full.success, `helm lint with full values failed:\n${full.stdout}${full.stderr}`);
});

Deno.test("the default render is the operator, its RBAC and a metrics Service, restricted", async () => {
  const objects = await render();
  assert.deepEqual(
    objects.map((o) => o.kind).sort(),
    ["ClusterRole", "ClusterRoleBinding", "Deployment", "Role", "RoleBinding", "Service"]
      .concat("ServiceAccount").sort(),
  );
  for (const object of objects) {
    assert.equal(object.metadata.labels?.["app.kubernetes.io/instance"], "jp");
    if (!object.kind.startsWith("Cluster")) {
      assert.equal(object.metadata.namespace, "jobpool-system", object.kind);
    }
  }

  const deployment: Json = find(objects, "Deployment");
  assert.equal(deployment.spec.replicas, 2);
  const pod = deployment.spec.template.spec;
  assert.equal(pod.serviceAccountName, "jp-jobpool-operator");
  assert.deepEqual(pod.securityContext, {
    runAsNonRoot: true,
    runAsUser: 65532,
    runAsGroup: 65532,
    seccompProfile: { type: "RuntimeDefault" },
  });
  const [container, ...others] = pod.containers;
  assert.equal(others.length, 0);
  assert.equal(container.image, "ghcr.io/jobpool/operator:0.1.0");
  assert.deepEqual(container.securityContext, {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  });
  assert.deepEqual(container.volumeMounts, [{ name: "tmp", mountPath: "/tmp" }]);
  assert.ok(pod.volumes.some((v: Json) => v.name === "tmp" && v.emptyDir));
  assert.equal(container.livenessProbe.httpGet.path, "/healthz");
  assert.equal(container.readinessProbe.httpGet.path, "/readyz");
  assert.deepEqual(container.ports, [{ name: "metrics", containerPort: 8080, protocol: "TCP" }]);

  const env = Object.fromEntries(
    container.env.map((e: Json) => [e.name, e.value ?? e.valueFrom.fieldRef.fieldPath]),
  );
  assert.deepEqual(env, {
    POD_NAME: "metadata.name",
    POD_NAMESPACE: "metadata.namespace",
    OPERATOR_LEASE_NAMESPACE: "metadata.namespace",
    OPERATOR_LEASE_NAME: "jobpool-operator",
    OPERATOR_LEASE_DURATION_SECONDS: "15",
    OPERATOR_LEASE_RENEW_DEADLINE_SECONDS: "10",
    OPERATOR_LEASE_RETRY_PERIOD_SECONDS: "2",
    OPERATOR_METRICS_PORT: "8080",
    OPERATOR_CONCURRENCY: "4",
    OPERATOR_RESYNC_SECONDS: "300",
    LOG_LEVEL: "info",
    LOG_FORMAT: "json",
  });

  const service: Json = find(objects, "Service");
  assert.deepEqual(service.spec.ports, [
    { name: "metrics", port: 8080, targetPort: "metrics", protocol: "TCP" },
  ]);
  assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels);

  const role: Json = find(objects, "Role");
  assert.deepEqual(role.rules, [{
    apiGroups: ["coordination.k8s.io"],
    resources: ["leases"],
    verbs: ["get", "create", "update"],
  }]);
  const binding: Json = find(objects, "ClusterRoleBinding");
  assert.deepEqual(binding.subjects, [
    { kind: "ServiceAccount", name: "jp-jobpool-operator", namespace: "jobpool-system" },
  ]);
});

/** What `helm template` knows of a cluster with the Prometheus Operator. */
const PROMETHEUS_OPERATOR = [
  "--api-versions=monitoring.coreos.com/v1/ServiceMonitor",
  "--api-versions=monitoring.coreos.com/v1/PodMonitor",
];

Deno.test("every optional object renders, and values reach the objects", async () => {
  const objects = await render(FULL_VALUES, PROMETHEUS_OPERATOR);
  const kinds = new Set(objects.map((o) => o.kind));
  for (const kind of ["ServiceMonitor", "PodMonitor", "PodDisruptionBudget", "NetworkPolicy"]) {
    assert.ok(kinds.has(kind), `${kind} is missing`);
  }
  const deployment: Json = find(objects, "Deployment");
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  assert.equal(deployment.spec.replicas, 3);
  assert.equal(container.image, `registry.example.com/jobpool/operator@sha256:${"a".repeat(64)}`);
  assert.equal(pod.serviceAccountName, "jp-operator");
  assert.deepEqual(pod.imagePullSecrets, [{ name: "regcred" }]);
  assert.equal(pod.priorityClassName, "system-cluster-critical");
  assert.equal(deployment.spec.template.metadata.labels.team, "jobs");
  assert.deepEqual(pod.topologySpreadConstraints[0].labelSelector, {
    matchLabels: deployment.spec.selector.matchLabels,
  });
  const env = new Map(container.env.map((e: Json) => [e.name, e.value]));
  assert.equal(env.get("OPERATOR_WATCH_NAMESPACE"), "apps");
  assert.equal(env.get("OPERATOR_METRICS_PORT"), "9443");
  assert.equal(env.get("OPERATOR_LEASE_NAME"), "jp-leader");
  assert.equal(env.get("LOG_FORMAT"), "pretty");
  assert.equal(env.get("EXTRA"), "1");
  for (const object of objects) {
    assert.equal(object.metadata.labels?.["example.com/owner"], "platform", object.kind);
  }

  const pdb: Json = find(objects, "PodDisruptionBudget");
  assert.equal(pdb.spec.minAvailable, "50%");
  const policy: Json = find(objects, "NetworkPolicy");
  assert.deepEqual(policy.spec.policyTypes, ["Ingress", "Egress"]);
  assert.deepEqual(policy.spec.ingress[0].from, FULL_VALUES.networkPolicy.metricsFrom);
  assert.deepEqual(policy.spec.egress[1], {
    ports: [{ port: 443, protocol: "TCP" }],
    to: [{ ipBlock: { cidr: "10.0.0.1/32" } }],
  });
  const monitor: Json = find(objects, "ServiceMonitor");
  assert.equal(monitor.metadata.labels.release, "prom");
  assert.equal(monitor.spec.endpoints[0].port, "metrics");
  const workers: Json = find(objects, "PodMonitor");
  assert.deepEqual(workers.spec.namespaceSelector, { any: true });

  const dashboard: Json = find(objects, "ConfigMap");
  assert.equal(dashboard.metadata.namespace, "monitoring");
  assert.equal(dashboard.metadata.labels.grafana_dashboard, "1");
  assert.equal(JSON.parse(dashboard.data["jobpool.json"]).uid, "jobpool-overview");

  const withoutRbac = await render({ rbac: { create: false } });
  assert.ok(!withoutRbac.some((o) => o.kind.includes("Role")));
  const crds = await render({}, ["--include-crds"]);
  assert.ok(
    crds.some((o) => o.kind === "CustomResourceDefinition" && o.metadata.name === CRD_NAME),
  );
});

Deno.test("values.schema.json and the templates reject bad values with helm's error", async () => {
  const cases: { args: string[]; error: RegExp }[] = [
    { args: ["--set=replicaCount=-1"], error: /replicaCount: Must be greater than or equal to 0/ },
    { args: ["--set=bogus=1"], error: /Additional property bogus is not allowed/ },
    { args: ["--set=image.bogus=1"], error: /image: Additional property bogus is not allowed/ },
    { args: ["--set=image.pullPolicy=Sometimes"], error: /image\.pullPolicy: .*one of/ },
    { args: ["--set=metrics.port=70000"], error: /metrics\.port: Must be less than or equal/ },
    { args: ["--set=logging.level=verbose"], error: /logging\.level: .*one of/ },
    { args: ["--set=concurrency=0"], error: /concurrency: Must be greater than or equal to 1/ },
    { args: ["--set=serviceMonitor.enabled=yes"], error: /serviceMonitor\.enabled: Invalid type/ },
    { args: ["--set=serviceMonitor.interval=often"], error: /serviceMonitor\.interval/ },
    { args: ["--set=podDisruptionBudget.minAvailable=half"], error: /minAvailable/ },
    { args: ["--set=watchNamespace=Not_A_Namespace"], error: /watchNamespace: Does not match/ },
    {
      args: ['--set-json=networkPolicy.apiServerCidrs=["somewhere"]'],
      error: /apiServerCidrs\.0: Does not match/,
    },
    {
      args: ["--set=leaderElection.retryPeriodSeconds=12"],
      error:
        /leaseDurationSeconds \(15\) must exceed renewDeadlineSeconds \(10\), which must exceed retryPeriodSeconds \(12\)/,
    },
    {
      args: ["--set=podDisruptionBudget.enabled=true", "--set=replicaCount=1"],
      error: /podDisruptionBudget\.minAvailable \(1\) must be below replicaCount \(1\)/,
    },
    {
      args: ["--set=serviceAccount.create=false"],
      error: /serviceAccount\.name is required when serviceAccount\.create is false/,
    },
  ];
  for (const { args, error } of cases) {
    const result = await helm(["template", "jp", CHART, ...args]);
    assert.ok(!result.success, `helm template ${args.join(" ")} should fail`);
    assert.match(result.stderr, error, `helm template ${args.join(" ")}`);
  }
});

Deno.test("the chart's RBAC is the generated install bundle's", async () => {
  const chart = await render();
  const bundle = await parseYaml<Manifest>(
    await Deno.readTextFile(join(ROOT, "manifests", "install", "01-rbac.yaml")),
  );
  for (const kind of ["ClusterRole", "Role"]) {
    const ours = find(chart, kind) as Json;
    const theirs = find(bundle, kind) as Json;
    assert.deepEqual(ours.rules, theirs.rules, `${kind} rules differ from manifests/install`);
  }
});

Deno.test("the chart's CRD is the generated one", async () => {
  const file = `${CRD_NAME}.yaml`;
  const chart = await parseYaml<Manifest>(await Deno.readTextFile(join(CHART, "crds", file)));
  const generated = await parseYaml<Manifest>(
    await Deno.readTextFile(join(ROOT, "manifests", "crd", file)),
  );
  assert.equal(chart.length, 1);
  assert.equal(chart[0]!.metadata.name, CRD_NAME);
  assert.deepEqual(chart, generated, "charts/jobpool-operator/crds differs: run deno task synth");
});

/** `name: "jobpool_…"` in a metrics module. */
async function definedMetrics(path: string): Promise<string[]> {
  const source = await Deno.readTextFile(join(ROOT, path));
  return [...source.matchAll(/name: "(jobpool_[a-z_]+)"/g)].map((m) => m[1]!);
}

Deno.test("the Grafana dashboard charts every worker and operator metric, and only those", async () => {
  const defined = new Set([
    ...await definedMetrics("src/observability/metrics.ts"),
    ...await definedMetrics("operator/runtime/metrics.ts"),
  ]);
  assert.ok(defined.has("jobpool_jobs_processed_total"));
  assert.ok(defined.has("jobpool_operator_reconcile_total"));
  const dashboard = JSON.parse(await Deno.readTextFile(join(CHART, "dashboards", "jobpool.json")));
  const used = new Set<string>();
  for (const panel of dashboard.panels as Json[]) {
    for (const target of panel.targets ?? []) {
      for (const [name] of String(target.expr).matchAll(/jobpool_[a-z_]+/g)) {
        used.add(name.replace(/_(bucket|sum|count)$/, ""));
      }
    }
  }
  assert.deepEqual([...used].filter((m) => !defined.has(m)), [], "unknown metrics in dashboard");
  assert.deepEqual([...defined].filter((m) => !used.has(m)), [], "metrics missing from dashboard");
});
