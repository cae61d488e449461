/**
 * The operator's install bundle: its namespace, ServiceAccount, least-privilege
 * RBAC (exactly what the reconciler touches) and Deployment, built with cdk8s.
 * The Helm chart and the RBAC tests can reuse the rules from here.
 *
 * @module
 */

import { ApiObject, App, Chart, Size } from "cdk8s";
import * as kplus from "cdk8s-plus-28";
import { GROUP, PLURAL } from "../api/mod.ts";
import type { Manifest } from "../runtime/object.ts";
import { LABELS } from "./names.ts";
import { mountWritableTmp, RESTRICTED_CONTAINER_SECURITY } from "./restricted.ts";

/** The operator's namespace by default. */
export const OPERATOR_NAMESPACE = "jobpool-system";

/** The operator's name: ServiceAccount, ClusterRole, Deployment. */
export const OPERATOR_NAME = "jobpool-operator";

/** The operator image by default. */
export const OPERATOR_IMAGE = "ghcr.io/jobpool/operator:0.1.0";

/** The port of the operator's `/metrics`, `/healthz` and `/readyz`. */
export const OPERATOR_METRICS_PORT = 8080;

/** What the operator container runs (inside the image's `/app`): `deno task operator` without writes. */
export const OPERATOR_COMMAND = [
  "deno",
  "run",
  "--cached-only",
  "--frozen",
  "--v8-flags=--max-semi-space-size=2,--optimize-for-size",
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-sys",
  "operator/main.ts",
] as const;

/** One RBAC policy rule. */
export interface PolicyRule {
  /** API groups (`""` is the core group). */
  apiGroups: string[];
  /** Resources, with `/subresource` where needed. */
  resources: string[];
  /** The verbs allowed on them. */
  verbs: string[];
}

/**
 * Generated objects: informers (list, watch), reads before adopting or deleting
 * (get), server-side apply (patch, and create when the object is new), and
 * deletes (stale TriggerAuthentications, a conflicting pool's workers,
 * KafkaTopics with deletionPolicy Delete). Never `update`.
 */
const MANAGE = ["get", "list", "watch", "create", "patch", "delete"];

/**
 * The cluster-wide rules, exactly the calls the code makes: its own resource
 * (get, informer, finalizer merge patch), its status (server-side apply), its
 * finalizers (blockOwnerDeletion under OwnerReferencesPermissionEnforcement),
 * the objects it generates, and creating Events. Nothing else, Secrets included.
 */
export const OPERATOR_CLUSTER_RULES: readonly PolicyRule[] = [
  { apiGroups: [GROUP], resources: [PLURAL], verbs: ["get", "list", "watch", "patch"] },
  { apiGroups: [GROUP], resources: [`${PLURAL}/status`], verbs: ["patch"] },
  { apiGroups: [GROUP], resources: [`${PLURAL}/finalizers`], verbs: ["update"] },
  { apiGroups: ["apps"], resources: ["deployments"], verbs: MANAGE },
  { apiGroups: ["keda.sh"], resources: ["scaledobjects", "triggerauthentications"], verbs: MANAGE },
  { apiGroups: ["kafka.strimzi.io"], resources: ["kafkatopics"], verbs: MANAGE },
  { apiGroups: [""], resources: ["events"], verbs: ["create"] },
];

/** The rules in the operator's own namespace: the leader-election Lease. */
export const OPERATOR_NAMESPACE_RULES: readonly PolicyRule[] = [
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
];

/** Options of {@linkcode synthesizeInstall}. */
export interface InstallOptions {
  /** Default {@linkcode OPERATOR_NAMESPACE}. */
  namespace?: string;
  /** Default {@linkcode OPERATOR_IMAGE}. */
  image?: string;
  /** Default 1; more run as hot standbys behind leader election. */
  replicas?: number;
}

/** The install bundle, grouped the way `manifests/install/` stores it. */
export interface InstallObjects {
  /** The operator's Namespace (`00-namespace.yaml`). */
  namespace: Manifest;
  /** ServiceAccount, ClusterRole, Role and their bindings (`01-rbac.yaml`). */
  rbac: Manifest[];
  /** The operator Deployment (`02-operator.yaml`). */
  operator: Manifest[];
}

/** The operator's install manifests. Pure and deterministic. */
export function synthesizeInstall(options: InstallOptions = {}): InstallObjects {
  const namespace = options.namespace ?? OPERATOR_NAMESPACE;
  const labels = {
    [LABELS.name]: OPERATOR_NAME,
    [LABELS.instance]: OPERATOR_NAME,
    "app.kubernetes.io/part-of": "jobpool",
  };
  const app = new App({ outdir: "cdk8s.out", recordConstructMetadata: false });

  const nsChart = new Chart(app, "namespace", { labels, disableResourceNameHashes: true });
  new ApiObject(nsChart, "namespace", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: namespace,
      labels: {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
      },
    },
  });

  const rbacChart = new Chart(app, "rbac", { labels, disableResourceNameHashes: true });
  const subject = { kind: "ServiceAccount", name: OPERATOR_NAME, namespace };
  new ApiObject(rbacChart, "service-account", {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: OPERATOR_NAME, namespace },
    automountServiceAccountToken: false,
  });
  new ApiObject(rbacChart, "cluster-role", {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: OPERATOR_NAME },
    rules: structuredClone(OPERATOR_CLUSTER_RULES),
  });
  new ApiObject(rbacChart, "cluster-role-binding", {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: OPERATOR_NAME },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: OPERATOR_NAME },
    subjects: [subject],
  });
  new ApiObject(rbacChart, "role", {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: `${OPERATOR_NAME}-leader-election`, namespace },
    rules: structuredClone(OPERATOR_NAMESPACE_RULES),
  });
  new ApiObject(rbacChart, "role-binding", {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: `${OPERATOR_NAME}-leader-election`, namespace },
    roleRef: {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: `${OPERATOR_NAME}-leader-election`,
    },
    subjects: [subject],
  });

  const operatorChart = new Chart(app, "operator", {
    namespace,
    labels,
    disableResourceNameHashes: true,
  });
  addOperatorDeployment(operatorChart, {
    image: options.image ?? OPERATOR_IMAGE,
    replicas: options.replicas ?? 1,
    selector: { [LABELS.name]: OPERATOR_NAME, [LABELS.instance]: OPERATOR_NAME },
  });

  const [namespaceObject] = nsChart.toJson() as Manifest[];
  if (!namespaceObject) throw new Error("Synthesis lost the Namespace: this is a jobpool bug");
  const operator = operatorChart.toJson() as Manifest[];
  for (const object of operator) {
    if (object.kind !== "Deployment") continue;
    const template = (object.spec as { template: { metadata?: { labels?: object } } }).template;
    delete (template.metadata?.labels as Record<string, string> | undefined)?.[
      "cdk8s.io/metadata.addr"
    ];
  }
  return { namespace: namespaceObject, rbac: rbacChart.toJson() as Manifest[], operator };
}

/** Every install object, in apply order. */
export function installObjectList(objects: InstallObjects): Manifest[] {
  return [objects.namespace, ...objects.rbac, ...objects.operator];
}

function addOperatorDeployment(
  chart: Chart,
  options: { image: string; replicas: number; selector: Record<string, string> },
): void {
  const serviceAccount = kplus.ServiceAccount.fromServiceAccountName(
    chart,
    "service-account",
    OPERATOR_NAME,
  );
  const deployment = new kplus.Deployment(chart, "operator", {
    metadata: { name: OPERATOR_NAME },
    replicas: options.replicas,
    select: false,
    podMetadata: { labels: options.selector },
    serviceAccount,
    automountServiceAccountToken: true,
    securityContext: { ensureNonRoot: true },
  });
  deployment.select(kplus.LabelSelector.of({ labels: options.selector }));
  const container = deployment.addContainer({
    name: "operator",
    image: options.image,
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    command: [...OPERATOR_COMMAND],
    workingDir: "/app",
    ports: [{ number: OPERATOR_METRICS_PORT, name: "metrics" }],
    liveness: kplus.Probe.fromHttpGet("/healthz", { port: OPERATOR_METRICS_PORT }),
    readiness: kplus.Probe.fromHttpGet("/readyz", { port: OPERATOR_METRICS_PORT }),
    resources: {
      cpu: { request: kplus.Cpu.millis(50), limit: kplus.Cpu.millis(500) },
      memory: { request: Size.mebibytes(128), limit: Size.mebibytes(256) },
    },
    securityContext: RESTRICTED_CONTAINER_SECURITY,
    envVariables: {
      POD_NAMESPACE: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE),
      POD_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME),
      OPERATOR_METRICS_PORT: kplus.EnvValue.fromValue(String(OPERATOR_METRICS_PORT)),
      LOG_FORMAT: kplus.EnvValue.fromValue("json"),
      DENO_NO_UPDATE_CHECK: kplus.EnvValue.fromValue("1"),
    },
  });
  mountWritableTmp(chart, container, Size.mebibytes(64));
}
