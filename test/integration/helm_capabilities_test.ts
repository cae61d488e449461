/**
 * The chart's Prometheus Operator objects on a real API server: with
 * `serviceMonitor.enabled` and `serviceMonitor.workers.enabled`, `helm install`
 * and `helm upgrade` succeed on a cluster without the monitoring.coreos.com
 * CRDs (the objects are left out, and NOTES says so); once the CRDs exist, the
 * next upgrade creates them.
 *
 * The monitoring CRDs here are minimal stand-ins made by the test (the
 * kinds, nothing of their schemas): only whether the API serves them matters.
 *
 * @module
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { helmOk } from "../env/helm.ts";
import { kube } from "../env/services.ts";
import { getJson, type KubeAccess, kubectl, kubeName } from "./operator_support.ts";

const CHART = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "charts",
  "jobpool-operator",
);

/** A served CRD for `kind` in monitoring.coreos.com/v1 that keeps every field. */
function monitoringCrd(kind: "ServiceMonitor" | "PodMonitor") {
  const plural = `${kind.toLowerCase()}s`;
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.monitoring.coreos.com` },
    spec: {
      group: "monitoring.coreos.com",
      scope: "Namespaced",
      names: { kind, plural, listKind: `${kind}List`, singular: kind.toLowerCase() },
      versions: [{
        name: "v1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        },
      }],
    },
  };
}

Deno.test("ServiceMonitor and PodMonitor are left out where the cluster does not serve them", async () => {
  const { kubeconfig, kubectl: kubectlPath } = kube();
  const admin: KubeAccess = { kubeconfig, kubectl: kubectlPath };
  const home = await Deno.makeTempDir({ prefix: "jobpool-helm-caps-" });
  const namespace = kubeName("helm-caps");
  const release = kubeName("caps");
  const fullname = `${release}-jobpool-operator`;
  const helm = (args: string[]) => helmOk(args, { home, kubeconfig });
  const crds = ["servicemonitors.monitoring.coreos.com", "podmonitors.monitoring.coreos.com"];
  try {
    for (const crd of crds) {
      assert.equal(await getJson(admin, ["crd", crd]), undefined, `${crd} must not exist yet`);
    }
    const installed = await helm([
      "install",
      release,
      CHART,
      `--namespace=${namespace}`,
      "--create-namespace",
      "--set=serviceMonitor.enabled=true",
      "--set=serviceMonitor.workers.enabled=true",
    ]);
    assert.match(installed, /STATUS: deployed/);
    assert.match(
      installed,
      /serves no monitoring\.coreos\.com\/v1\s+ServiceMonitor: it was left out/,
    );
    assert.match(installed, /serves no monitoring\.coreos\.com\/v1\s+PodMonitor: it was left out/);
    await helm(["upgrade", release, CHART, `--namespace=${namespace}`, "--reuse-values"]);

    // The Prometheus Operator arrives: the next upgrade adds both objects.
    await kubectl(
      admin,
      ["apply", "--server-side", "--field-manager=test", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [monitoringCrd("ServiceMonitor"), monitoringCrd("PodMonitor")],
      }),
    );
    for (const crd of crds) {
      await kubectl(admin, ["wait", "--for=condition=Established", `crd/${crd}`, "--timeout=60s"]);
    }
    const upgraded = await helm([
      "upgrade",
      release,
      CHART,
      `--namespace=${namespace}`,
      "--reuse-values",
    ]);
    assert.match(upgraded, /A ServiceMonitor ".*" scrapes the operator/);
    assert.ok(await getJson(admin, ["servicemonitor", fullname, "-n", namespace]));
    assert.ok(await getJson(admin, ["podmonitor", `${fullname}-workers`, "-n", namespace]));
    await helm(["uninstall", release, `--namespace=${namespace}`]);
  } finally {
    await kubectl(admin, ["delete", "crd", ...crds, "--ignore-not-found", "--wait=false"]).catch(
      () => {},
    );
    await kubectl(admin, ["delete", "namespace", namespace, "--wait=false", "--ignore-not-found"])
      .catch(() => {});
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
