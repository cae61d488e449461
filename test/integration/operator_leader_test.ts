/**
 * Leader election and restarts against a real kube-apiserver: of two
 * replicas exactly one reconciles; when it stops the other takes over; a
 * restarted operator resumes where the last one stopped.
 */

import assert from "node:assert/strict";
import { RESOURCES } from "../../operator/runtime/mod.ts";
import {
  applyObjects,
  createNamespace,
  eventually,
  getJson,
  installPoolCrd,
  isObserved,
  newClient,
  observedPool,
  poolManifest,
  sharedKube,
  startTestOperator,
} from "./operator_support.ts";

async function reconcileCount(
  operator: { metrics: { registry: { getSingleMetricAsString(n: string): Promise<string> } } },
): Promise<number> {
  const text = await operator.metrics.registry.getSingleMetricAsString(
    "jobpool_operator_reconcile_total",
  );
  return [...text.matchAll(/^jobpool_operator_reconcile_total\{[^}]*\} (\d+)/gm)]
    .reduce((sum, m) => sum + Number(m[1]), 0);
}

Deno.test("two operator replicas: one leader reconciles, the other takes over when it stops", async () => {
  const access = sharedKube();
  await installPoolCrd(access);
  const namespace = await createNamespace(access, "op-lead");
  const client = await newClient(access);
  const a = await startTestOperator({ client, namespace, identity: "replica-a" });
  await eventually("replica a to lead", () => Promise.resolve(a.isLeader));
  const b = await startTestOperator({ client, namespace, identity: "replica-b", metricsPort: 0 });
  let bStopped = false;
  try {
    await applyObjects(access, poolManifest(namespace, "one"));
    await observedPool(access, { namespace, name: "one" });
    assert.equal(a.isLeader, true);
    assert.equal(b.isLeader, false, "never two leaders");
    assert.equal(await reconcileCount(b), 0, "the standby does not reconcile");
    assert.ok(await reconcileCount(a) > 0);
    const lease = await client.get(RESOURCES.leases, { namespace, name: "jobpool-operator" });
    assert.equal((lease?.["spec"] as { holderIdentity?: string }).holderIdentity, "replica-a");

    // The standby still serves probes and metrics.
    const ready = await fetch(`http://127.0.0.1:${b.port}/readyz`);
    await ready.body?.cancel();
    assert.equal(ready.status, 200);

    await a.stop();
    await eventually("replica b to take over", () => Promise.resolve(b.isLeader));
    await applyObjects(access, poolManifest(namespace, "two"));
    await observedPool(access, { namespace, name: "two" }, {
      what: "pool two to be reconciled by b",
    });
    assert.ok(await reconcileCount(b) > 0);
    const metrics = await fetch(`http://127.0.0.1:${b.port}/metrics`).then((r) => r.text());
    for (
      const name of [
        "jobpool_operator_reconcile_total",
        "jobpool_operator_reconcile_errors_total",
        "jobpool_operator_reconcile_duration_seconds_bucket",
        "jobpool_operator_workqueue_depth",
        "jobpool_operator_leader 1",
      ]
    ) assert.ok(metrics.includes(name), `/metrics shows ${name}`);
    const healthz = await fetch(`http://127.0.0.1:${b.port}/healthz`);
    await healthz.body?.cancel();
    assert.equal(healthz.status, 200);

    // A restart resumes: changes made while no operator ran are picked up.
    await b.stop();
    bStopped = true;
    await applyObjects(access, poolManifest(namespace, "three"));
    await applyObjects(access, poolManifest(namespace, "one", { image: "ghcr.io/example/w:9" }));
    const c = await startTestOperator({ client, namespace, identity: "replica-c" });
    try {
      await observedPool(access, { namespace, name: "three" }, {
        what: "pool three to be reconciled after the restart",
      });
      await eventually("pool one's update to be applied after the restart", async () => {
        const pool = await getJson(access, ["jwp", "one", "-n", namespace]);
        const deployment = await getJson(access, ["deployment", "one-worker", "-n", namespace]);
        const spec = deployment?.["spec"] as {
          template: { spec: { containers: Array<{ image: string }> } };
        };
        return isObserved(pool) &&
          spec.template.spec.containers[0]?.image === "ghcr.io/example/w:9";
      });
    } finally {
      await c.stop();
    }
  } finally {
    await a.stop();
    if (!bStopped) await b.stop();
    client.close();
  }
});
