/**
 * The Helm chart on the real test kube-apiserver: `helm install` and
 * `helm upgrade` succeed and create the objects; the operator's pod template
 * passes the "restricted" Pod Security admission; and the chart's RBAC is
 * proven from the ServiceAccount's own token: `kubectl auth can-i` allows what
 * the operator needs and denies the rest, and the real operator process
 * (`operator/main.ts`, configured from the installed Deployment's env) running
 * with that token reconciles pools: Deployment, ScaledObject, a KafkaTopic in
 * another namespace, status, Events, the finalizer, the leader Lease.
 *
 * No controllers run on the test server, so nothing waits for Pods
 * (`helm install` without `--wait`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CRD_NAME } from "../../operator/api/mod.ts";
import { helmOk } from "../env/helm.ts";
import { kubectl as runKubectl } from "../env/kubectl.ts";
import { freePort } from "../env/process.ts";
import { kube } from "../env/services.ts";
import {
  applyObjects,
  condition,
  eventually,
  getJson,
  type KubeAccess,
  kubectl,
  kubeName,
  newClient,
  observedPool,
  poolManifest,
} from "./operator_support.ts";
import { type StandIns, startStandIns } from "./operator_stand_ins.ts";
import type { HttpKubeClient } from "../../operator/runtime/mod.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CHART = join(ROOT, "charts", "jobpool-operator");

// deno-lint-ignore no-explicit-any
type Json = any;

/** Runs helm as the admin against the test server; returns stdout, throws with stderr. */
function helm(args: string[], home: string): Promise<string> {
  return helmOk(args, { home, kubeconfig: kube().kubeconfig });
}

/** `kubectl auth can-i` as `access`: true for "yes", false for "no". */
async function canI(access: KubeAccess, args: string[]): Promise<boolean> {
  const output = await runKubectl(["auth", "can-i", ...args], {
    kubeconfig: access.kubeconfig,
    kubectlPath: access.kubectl,
  });
  const answer = output.stdout.trim();
  if (answer !== "yes" && answer !== "no") {
    throw new Error(
      `kubectl auth can-i ${args.join(" ")} answered neither yes nor no: ` + output.stderr,
    );
  }
  return answer === "yes";
}

/** A kubeconfig for `token`, next to the admin one's cluster and CA. */
async function kubeconfigForToken(token: string, dir: string): Promise<string> {
  const admin = JSON.parse(await Deno.readTextFile(kube().kubeconfig));
  admin.users = [{ name: "operator", user: { token } }];
  for (const context of admin.contexts) context.context.user = "operator";
  const path = join(dir, "operator-kubeconfig.json");
  await Deno.writeTextFile(path, JSON.stringify(admin), { mode: 0o600 });
  return path;
}

/** The operator container's env from a Deployment, with the downward API filled in. */
function containerEnv(
  deployment: Json,
  pod: { name: string; namespace: string },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of deployment.spec.template.spec.containers[0].env) {
    const field = variable.valueFrom?.fieldRef?.fieldPath;
    if (field === "metadata.name") env[variable.name] = pod.name;
    else if (field === "metadata.namespace") env[variable.name] = pod.namespace;
    else if (typeof variable.value === "string") env[variable.name] = variable.value;
    else throw new Error(`Unexpected env source for ${variable.name} in the Deployment`);
  }
  return env;
}

/** The operator process, run the way `deno task operator` runs it. */
async function startOperatorProcess(env: Record<string, string>): Promise<Deno.ChildProcess> {
  const denoJson = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const task: string | undefined = denoJson.tasks?.operator;
  if (!task || !task.startsWith("deno run ")) {
    throw new Error(`deno.json's "operator" task is not a deno run command: ${task}`);
  }
  const inherited: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) inherited[name] = value;
  }
  return new Deno.Command(Deno.execPath(), {
    args: task.split(/\s+/).slice(1),
    cwd: ROOT,
    clearEnv: true,
    env: { ...inherited, NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test("the chart installs, upgrades, passes restricted Pod Security and its RBAC suffices for the operator", async (t) => {
  const { kubeconfig, kubectl: kubectlPath } = kube();
  const admin: KubeAccess = { kubeconfig, kubectl: kubectlPath };
  const home = await Deno.makeTempDir({ prefix: "jobpool-helm-install-" });
  const namespace = kubeName("helm");
  const poolNamespace = kubeName("helm-pools");
  const kafkaNamespace = kubeName("helm-kafka");
  const release = kubeName("jp");
  const fullname = `${release}-jobpool-operator`;
  const leaseName = kubeName("lease");
  let operator: Deno.ChildProcess | undefined;
  let operatorOutput: Promise<Deno.CommandOutput> | undefined;
  let standInClient: HttpKubeClient | undefined;
  let standIns: StandIns | undefined;

  try {
    await t.step("helm install creates the objects and prints what to do next", async () => {
      const notes = await helm([
        "install",
        release,
        CHART,
        `--namespace=${namespace}`,
        "--create-namespace",
        `--set=leaderElection.leaseName=${leaseName}`,
        "--set=podDisruptionBudget.enabled=true",
        "--set=networkPolicy.enabled=true",
        "--set=dashboards.enabled=true",
      ], home);
      assert.match(notes, /STATUS: deployed/);
      assert.match(notes, /kubectl apply -f manifests\/examples\//);
      assert.match(notes, new RegExp(`port-forward svc/${fullname}-metrics 8080`));

      const ns = `--namespace=${namespace}`;
      for (
        const object of [
          "deployment",
          "serviceaccount",
          "service",
          "role",
          "rolebinding",
          "poddisruptionbudget",
          "networkpolicy",
        ]
      ) {
        const name = object === "service"
          ? `${fullname}-metrics`
          : object.startsWith("role")
          ? `${fullname}-leader-election`
          : fullname;
        assert.ok(await getJson(admin, [object, name, ns]), `${object} ${name} is missing`);
      }
      assert.ok(await getJson(admin, ["configmap", `${fullname}-dashboard`, ns]));
      assert.ok(await getJson(admin, ["clusterrole", fullname]));
      assert.ok(await getJson(admin, ["clusterrolebinding", fullname]));
      assert.ok(await getJson(admin, ["crd", CRD_NAME]), "the CRD from crds/ is missing");
      await kubectl(admin, ["wait", "--for=condition=Established", `crd/${CRD_NAME}`]);
    });

    await t.step("the operator's pod passes the restricted Pod Security admission", async () => {
      const restricted = kubeName("helm-restricted");
      await kubectl(admin, ["create", "namespace", restricted]);
      try {
        await kubectl(admin, [
          "label",
          "namespace",
          restricted,
          "pod-security.kubernetes.io/enforce=restricted",
          "pod-security.kubernetes.io/enforce-version=latest",
        ]);
        const deployment: Json = await getJson(admin, ["deployment", fullname, "-n", namespace]);
        const pod = {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "operator", namespace: restricted },
          spec: deployment.spec.template.spec,
        };
        await kubectl(admin, ["create", "--dry-run=server", "-f", "-"], JSON.stringify(pod));

        // The admission is really enforcing: the same pod without runAsNonRoot is refused.
        const loose = structuredClone(pod);
        delete loose.spec.securityContext.runAsNonRoot;
        delete loose.spec.containers[0].securityContext.runAsNonRoot;
        await assert.rejects(
          kubectl(admin, ["create", "--dry-run=server", "-f", "-"], JSON.stringify(loose)),
          /violates PodSecurity "restricted:latest"/,
        );
      } finally {
        await kubectl(admin, ["delete", "namespace", restricted, "--wait=false"]);
      }
    });

    await t.step("helm upgrade applies new values", async () => {
      await helm([
        "upgrade",
        release,
        CHART,
        `--namespace=${namespace}`,
        "--reuse-values",
        `--set=watchNamespace=${poolNamespace}`,
        "--set=replicaCount=1",
        "--set=podDisruptionBudget.enabled=false",
        "--set=logging.level=debug",
      ], home);
      const history = JSON.parse(
        await helm(["history", release, `--namespace=${namespace}`, "--output=json"], home),
      ) as { revision: number; status: string }[];
      assert.deepEqual(history.map((h) => [h.revision, h.status]), [
        [1, "superseded"],
        [2, "deployed"],
      ]);
      const deployment: Json = await getJson(admin, ["deployment", fullname, "-n", namespace]);
      assert.equal(deployment.spec.replicas, 1);
      const env = containerEnv(deployment, { name: "x", namespace });
      assert.equal(env["OPERATOR_WATCH_NAMESPACE"], poolNamespace);
      assert.equal(env["LOG_LEVEL"], "debug");
      assert.equal(env["OPERATOR_LEASE_NAME"], leaseName);
      assert.equal(
        await getJson(admin, ["poddisruptionbudget", fullname, "-n", namespace]),
        undefined,
        "the PodDisruptionBudget turned off by the upgrade is still there",
      );
    });

    await t.step("every optional object the API server knows passes its validation", async () => {
      const values = join(CHART, "ci", "full-values.yaml");
      const rendered = await helm([
        "template",
        "full",
        CHART,
        `--namespace=${namespace}`,
        `--values=${values}`,
        // The test server has no Prometheus Operator CRDs; the chart test checks those objects.
        "--set=serviceMonitor.enabled=false",
        "--set=serviceMonitor.workers.enabled=false",
        `--set=dashboards.namespace=${namespace}`,
      ], home);
      const applied = await kubectl(
        admin,
        ["apply", "--dry-run=server", "-o", "name", "-f", "-"],
        rendered,
      );
      for (
        const kind of ["deployment", "poddisruptionbudget", "networkpolicy", "configmap", "role"]
      ) {
        assert.match(applied, new RegExp(`^${kind}[./]`, "m"), `${kind} was not validated`);
      }
    });

    const token = (await kubectl(admin, ["create", "token", fullname, "-n", namespace])).trim();
    const operatorAccess: KubeAccess = {
      kubeconfig: await kubeconfigForToken(token, home),
      kubectl: kubectlPath,
    };
    for (const ns of [poolNamespace, kafkaNamespace]) {
      await kubectl(admin, ["create", "namespace", ns]);
    }

    await t.step("the ServiceAccount may do what the operator does, and nothing else", async () => {
      const allowed: string[][] = [
        ["watch", "jobworkerpools.jobpool.dev", "--all-namespaces"],
        ["patch", "jobworkerpools.jobpool.dev", "-n", poolNamespace],
        ["patch", "jobworkerpools.jobpool.dev", "--subresource=status", "-n", poolNamespace],
        ["update", "jobworkerpools.jobpool.dev", "--subresource=finalizers", "-n", poolNamespace],
        ["create", "deployments.apps", "-n", poolNamespace],
        ["patch", "deployments.apps", "-n", poolNamespace],
        ["patch", "scaledobjects.keda.sh", "-n", poolNamespace],
        ["delete", "triggerauthentications.keda.sh", "-n", poolNamespace],
        ["create", "kafkatopics.kafka.strimzi.io", "-n", kafkaNamespace],
        ["delete", "kafkatopics.kafka.strimzi.io", "-n", kafkaNamespace],
        ["list", "kafkatopics.kafka.strimzi.io", "--all-namespaces"],
        ["create", "events", "-n", poolNamespace],
        ["create", "leases.coordination.k8s.io", "-n", namespace],
        ["update", "leases.coordination.k8s.io", "-n", namespace],
      ];
      const denied: string[][] = [
        ["list", "secrets", "--all-namespaces"],
        ["get", "secrets", "-n", namespace],
        ["delete", "namespaces"],
        ["create", "pods", "-n", poolNamespace],
        ["create", "jobworkerpools.jobpool.dev", "-n", poolNamespace],
        ["update", "jobworkerpools.jobpool.dev", "-n", poolNamespace],
        ["update", "deployments.apps", "-n", poolNamespace],
        ["patch", "events", "-n", poolNamespace],
        ["delete", "jobworkerpools.jobpool.dev", "-n", poolNamespace],
        ["create", "leases.coordination.k8s.io", "-n", poolNamespace],
        ["delete", "leases.coordination.k8s.io", "-n", namespace],
        ["create", "clusterrolebindings.rbac.authorization.k8s.io"],
        ["update", "customresourcedefinitions.apiextensions.k8s.io"],
        ["impersonate", "serviceaccounts", "-n", namespace],
      ];
      // Everything the account may do on resources in its own namespace, exactly: the chart's
      // rules plus the self-reviews every authenticated user has.
      const list = await kubectl(operatorAccess, ["auth", "can-i", "--list", "-n", namespace]);
      const rules = Object.fromEntries(
        list.split("\n").slice(1).filter((line) => /^\S/.test(line)).map((line) => {
          const [resource] = line.split(/\s+/);
          return [resource, line.match(/\[([^\]]*)\]\s*$/)?.[1]];
        }),
      );
      const all = "get list watch create patch delete";
      assert.deepEqual(rules, {
        "jobworkerpools.jobpool.dev": "get list watch patch",
        "jobworkerpools.jobpool.dev/status": "patch",
        "jobworkerpools.jobpool.dev/finalizers": "update",
        "deployments.apps": all,
        "scaledobjects.keda.sh": all,
        "triggerauthentications.keda.sh": all,
        "kafkatopics.kafka.strimzi.io": all,
        "events": "create",
        "leases.coordination.k8s.io": "get create update",
        "selfsubjectreviews.authentication.k8s.io": "create",
        "selfsubjectaccessreviews.authorization.k8s.io": "create",
        "selfsubjectrulesreviews.authorization.k8s.io": "create",
      });

      for (const args of allowed) assert.ok(await canI(operatorAccess, args), args.join(" "));
      for (const args of denied) assert.ok(!(await canI(operatorAccess, args)), args.join(" "));

      // Concrete requests, not only reviews.
      await assert.rejects(
        kubectl(operatorAccess, ["get", "secrets", "-n", namespace]),
        /Forbidden|forbidden/,
      );
      await assert.rejects(
        kubectl(operatorAccess, ["delete", "namespace", poolNamespace, "--dry-run=server"]),
        /Forbidden|forbidden/,
      );
      await assert.rejects(
        kubectl(operatorAccess, ["create", "configmap", "x", "-n", poolNamespace]),
        /Forbidden|forbidden/,
      );
    });

    await t.step(
      "the operator, configured by the chart and running as its ServiceAccount, reconciles pools",
      async () => {
        const deployment: Json = await getJson(admin, ["deployment", fullname, "-n", namespace]);
        const podName = `${fullname}-7c9d-x2x4q`;
        const port = freePort();
        operator = await startOperatorProcess({
          ...containerEnv(deployment, { name: podName, namespace }),
          KUBECONFIG: operatorAccess.kubeconfig,
          OPERATOR_METRICS_PORT: String(port),
        });
        operatorOutput = operator.output();

        const metrics = await eventually("the operator's /readyz", async () => {
          const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
          await ready.body?.cancel();
          if (!ready.ok) return false;
          return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        });
        assert.match(metrics, /jobpool_operator_reconcile_total/);
        const lease: Json = await eventually("the leader Lease", async () => {
          const lease: Json = await getJson(admin, ["lease", leaseName, "-n", namespace]);
          return lease?.spec?.holderIdentity?.startsWith(podName) ? lease : undefined;
        });
        assert.ok(lease.spec.holderIdentity);

        const strimzi = { clusterName: "test-kafka", namespace: kafkaNamespace };
        const first = poolManifest(poolNamespace, "emails", {
          kafka: {
            bootstrapServers: ["kafka-0.kafka:9092"],
            topic: { name: "helm-emails-jobs", partitions: 6 },
            consumerGroup: "helm-shared-group",
          },
          topicProvisioning: { mode: "strimzi", strimzi: { ...strimzi, deletionPolicy: "Delete" } },
        });
        standInClient = await newClient(admin);
        standIns = startStandIns(standInClient, [poolNamespace, kafkaNamespace]);
        await applyObjects(admin, first);
        const reconciled = await observedPool(admin, { namespace: poolNamespace, name: "emails" }, {
          what: "the first pool to be Ready once KEDA, Strimzi and the workers report",
          until: (pool) => condition(pool, "Ready")?.status === "True",
        });
        assert.ok(reconciled.metadata.finalizers?.includes("jobpool.dev/topic-cleanup"));
        assert.equal(condition(reconciled, "Ready")?.status, "True", JSON.stringify(reconciled));
        assert.ok(await getJson(admin, ["deployment", "emails-worker", "-n", poolNamespace]));
        assert.ok(await getJson(admin, ["scaledobject", "emails-scaler", "-n", poolNamespace]));
        const topic = await getJson(admin, [
          "kafkatopic",
          "helm-emails-jobs",
          "-n",
          kafkaNamespace,
        ]);
        assert.equal(topic?.metadata.labels?.["strimzi.io/cluster"], "test-kafka");

        // A second pool in the same group is refused with a Warning Event. (Its own topic: the
        // finalizer would keep a topic that another pool uses.)
        await applyObjects(
          admin,
          poolManifest(poolNamespace, "emails-too", {
            kafka: {
              bootstrapServers: ["kafka-0.kafka:9092"],
              topic: { name: "helm-emails-too-jobs", partitions: 6 },
              consumerGroup: "helm-shared-group",
            },
          }),
        );
        const blocked = await observedPool(
          admin,
          { namespace: poolNamespace, name: "emails-too" },
          {
            what: "the second pool's status",
          },
        );
        assert.equal(condition(blocked, "Ready")?.reason, "ConsumerGroupConflict");
        await eventually("the conflict Event", async () => {
          const events: Json = JSON.parse(
            await kubectl(admin, ["get", "events", "-n", poolNamespace, "-o", "json"]),
          );
          return events.items.some((e: Json) =>
            e.reason === "ConsumerGroupConflict" && e.involvedObject.name === "emails-too"
          );
        });

        // Deleting the first pool runs the finalizer: its topic in the Kafka namespace goes too.
        await kubectl(admin, [
          "delete",
          "jobworkerpool",
          "emails",
          "-n",
          poolNamespace,
          "--wait=false",
        ]);
        await eventually("the pool and its topic to be deleted", async () => {
          const pool = await getJson(admin, ["jobworkerpool", "emails", "-n", poolNamespace]);
          const gone = await getJson(admin, [
            "kafkatopic",
            "helm-emails-jobs",
            "-n",
            kafkaNamespace,
          ]);
          return !pool && !gone;
        });

        operator.kill("SIGTERM");
        const { code, stderr } = await operatorOutput;
        operator = undefined;
        const log = new TextDecoder().decode(stderr);
        assert.equal(code, 0, `the operator exited with ${code}:\n${log.slice(-3000)}`);
        assert.doesNotMatch(log, /forbidden/i, "the operator hit an RBAC denial");
      },
    );

    await t.step("helm uninstall removes the release and keeps the CRD", async () => {
      await kubectl(admin, [
        "delete",
        "jobworkerpools",
        "--all",
        "-n",
        poolNamespace,
        "--wait=false",
      ]);
      // No operator runs any more: drop the finalizers so the namespace can go.
      const pools: Json = JSON.parse(
        await kubectl(admin, ["get", "jobworkerpools", "-n", poolNamespace, "-o", "json"]),
      );
      for (const pool of pools.items) {
        await kubectl(admin, [
          "patch",
          "jobworkerpool",
          pool.metadata.name,
          "-n",
          poolNamespace,
          "--type=merge",
          "-p",
          '{"metadata":{"finalizers":null}}',
        ]);
      }
      await helm(["uninstall", release, `--namespace=${namespace}`], home);
      assert.equal(await getJson(admin, ["deployment", fullname, "-n", namespace]), undefined);
      assert.equal(await getJson(admin, ["clusterrole", fullname]), undefined);
      assert.ok(await getJson(admin, ["crd", CRD_NAME]), "helm uninstall deleted the CRD");
    });
  } finally {
    await standIns?.stop();
    standInClient?.close();
    if (operator) {
      operator.kill("SIGKILL");
      await operatorOutput;
    }
    for (const ns of [namespace, poolNamespace, kafkaNamespace]) {
      await kubectl(admin, ["delete", "namespace", ns, "--wait=false", "--ignore-not-found"])
        .catch(() => {});
    }
    await kubectl(admin, [
      "delete",
      "clusterrole,clusterrolebinding",
      fullname,
      "--ignore-not-found",
    ])
      .catch(() => {});
    await Deno.remove(home, { recursive: true });
  }
});
