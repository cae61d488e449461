/**
 * Without KEDA and Strimzi: a second kube-apiserver with no CRDs but
 * JobWorkerPool. The conditions explain what is missing and the workers still
 * run, with a fixed replica count.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_CRDS } from "../env/kube.ts";
import {
  applyObjects,
  condition,
  crdDir,
  createNamespace,
  eventually,
  getJson,
  kubectl,
  observedPool,
  poolManifest,
  startPrivateKube,
  startTestOperator,
} from "./operator_support.ts";

Deno.test("missing KEDA and Strimzi CRDs: conditions explain, replicas.min runs, installing them later heals", async () => {
  const { access, client, stop } = await startPrivateKube("none");
  try {
    const namespace = await createNamespace(access, "op-nocrd");
    const operator = await startTestOperator({ client, namespace });
    try {
      await applyObjects(
        access,
        poolManifest(namespace, "bare", {
          replicas: { min: 2, max: 4 },
          topicProvisioning: { mode: "strimzi", strimzi: { clusterName: "events" } },
        }),
      );
      const pool = await observedPool(access, { namespace, name: "bare" });
      const scaler = condition(pool, "ScalerReady");
      assert.equal(scaler?.status, "False");
      assert.equal(scaler?.reason, "CRDNotInstalled");
      assert.match(scaler?.message ?? "", /KEDA/);
      const topic = condition(pool, "TopicReady");
      assert.equal(topic?.status, "False");
      assert.equal(topic?.reason, "CRDNotInstalled");
      assert.match(topic?.message ?? "", /Strimzi/);
      assert.equal(condition(pool, "Ready")?.status, "False", "nothing provisions or scales");
      assert.equal(condition(pool, "Ready")?.reason, "TopicNotReady");
      const deployment = await getJson(access, ["deployment", "bare-worker", "-n", namespace]);
      assert.equal((deployment?.["spec"] as { replicas?: number }).replicas, 2);

      // Installing KEDA and Strimzi later is noticed without a restart.
      for (const file of [...DEFAULT_CRDS]) {
        await kubectl(access, ["apply", "--server-side", "-f", join(crdDir(), file)]);
      }
      const healed = await eventually(
        "the scaler and topic to appear once the CRDs exist",
        async () => {
          const pool = await getJson(access, ["jwp", "bare", "-n", namespace]);
          return condition(pool, "ScalerReady")?.reason === "WaitingForKeda" &&
              condition(pool, "TopicReady")?.reason === "WaitingForTopicOperator"
            ? pool
            : undefined;
        },
      );
      assert.ok(healed);
      assert.ok(await getJson(access, ["scaledobject", "bare-scaler", "-n", namespace]));
      assert.ok(await getJson(access, ["kafkatopic", "bare-jobs", "-n", namespace]));
    } finally {
      await operator.stop();
    }
  } finally {
    await stop();
  }
});
