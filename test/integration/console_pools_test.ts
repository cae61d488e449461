import assert from "node:assert/strict";
import { poolsPage } from "../../src/console/pages/pools_page.ts";
import { PoolReader } from "../../src/console/pools.ts";
import { POOL_RESOURCE } from "../../operator/api/mod.ts";
import {
  applyObjects,
  createNamespace,
  installPoolCrd,
  newClient,
  poolManifest,
  sharedKube,
} from "./operator_support.ts";

Deno.test("the console lists JobWorkerPools with replicas, lag and conditions from a real API server", async () => {
  const access = sharedKube();
  await installPoolCrd(access);
  const namespace = await createNamespace(access, "console");
  await applyObjects(access, poolManifest(namespace, "emails", { jobTypes: ["job.email.*"] }));
  const client = await newClient(access);
  const reader = new PoolReader({ kubeconfig: access.kubeconfig, namespace });
  try {
    await client.apply(POOL_RESOURCE, {
      apiVersion: "jobpool.dev/v1alpha1",
      kind: "JobWorkerPool",
      metadata: { name: "emails", namespace },
      status: {
        observedGeneration: 1,
        replicas: 2,
        lag: 1234,
        consumerGroup: `jobpool.${namespace}.emails`,
        conditions: [{
          type: "Ready",
          status: "False",
          reason: "ConsumerGroupConflict",
          message: "another pool runs this group",
          lastTransitionTime: "2026-11-28T09:00:00Z",
        }],
      },
    } as never, { subresource: "status" });
    const [pool, ...others] = await reader.list();
    assert.equal(others.length, 0);
    assert.deepEqual(
      { ...pool, conditions: pool?.conditions.map((c) => `${c.type}=${c.status} ${c.reason}`) },
      {
        namespace,
        name: "emails",
        jobTypes: ["job.email.*"],
        consumerGroup: `jobpool.${namespace}.emails`,
        replicas: { current: 2, min: 1, max: 3 },
        lag: 1234,
        observed: true,
        conditions: ["Ready=False ConsumerGroupConflict"],
      },
    );
    const html = String(
      await poolsPage({
        view: { actionsEnabled: false, path: "/pools" },
        configured: true,
        pools: pool ? [pool] : [],
      }),
    );
    assert.match(html, /data-pool="[^"]+\/emails"/);
    assert.match(html, /1,234/);
    assert.match(html, /<strong>Ready<\/strong>=False/);
  } finally {
    await reader.close();
    client.close();
  }
});
