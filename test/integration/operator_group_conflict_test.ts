/**
 * Consumer-group conflicts on a real API server: the pool already running a
 * group keeps it even against an older pool, the loser's workers are stopped,
 * and freeing the group wakes the loser at once (resync is off, so only the
 * pool informer's events can do it).
 */

import assert from "node:assert/strict";
import type { KubeObject } from "../../operator/runtime/mod.ts";
import {
  applyObjects,
  condition,
  createNamespace,
  eventually,
  getJson,
  installPoolCrd,
  newClient,
  observedPool,
  poolManifest,
  sharedKube,
  startTestOperator,
} from "./operator_support.ts";
import { startStandIns } from "./operator_stand_ins.ts";

Deno.test("the incumbent keeps a contested consumer group; freeing it wakes the loser", async () => {
  const access = sharedKube();
  await installPoolCrd(access);
  const namespace = await createNamespace(access, "op-group");
  const client = await newClient(access);
  // Resync an hour away; the watchdog at startOperator's default (90 s).
  const operator = await startTestOperator({
    client,
    namespace,
    resyncPeriodMs: 3_600_000,
    watchdogMs: 90_000,
  });
  const standIns = startStandIns(client, [namespace]);
  const pool = (name: string, consumerGroup: string) =>
    poolManifest(namespace, name, {
      kafka: {
        bootstrapServers: ["kafka-0.kafka:9092"],
        topic: { name: `${name}-jobs`, partitions: 6 },
        consumerGroup,
      },
    });
  const settled = (name: string, what: (pool: KubeObject) => boolean) =>
    observedPool(access, { namespace, name }, { what: `pool ${name}: ${what}`, until: what });
  const ready = (p: KubeObject) => condition(p, "Ready")?.status === "True";
  try {
    // "older" is created first, on a group of its own; "newer" runs the group "shared".
    await applyObjects(access, pool("older", "older-group"));
    await settled("older", ready);
    await applyObjects(access, pool("newer", "shared"));
    await settled("newer", ready);
    assert.ok(await getJson(access, ["deployment", "newer-worker", "-n", namespace]));

    // The older pool moves onto "shared": it loses to the incumbent and its workers stop.
    await applyObjects(access, pool("older", "shared"));
    const loser = await settled(
      "older",
      (p) => condition(p, "Ready")?.reason === "ConsumerGroupConflict",
    );
    assert.match(condition(loser, "Ready")?.message ?? "", /newer/);
    await eventually(
      "the loser's workers to be deleted",
      async () => !(await getJson(access, ["deployment", "older-worker", "-n", namespace])),
    );
    const incumbent = await getJson(access, ["jwp", "newer", "-n", namespace]);
    assert.equal(condition(incumbent, "Ready")?.status, "True");
    assert.ok(await getJson(access, ["deployment", "newer-worker", "-n", namespace]));

    // The incumbent moves away: the loser is reconciled again at once and runs.
    await applyObjects(access, pool("newer", "newer-group"));
    await settled("older", ready);
    await eventually(
      "the older pool's workers to come back",
      () => getJson(access, ["deployment", "older-worker", "-n", namespace]),
    );
  } finally {
    await standIns.stop();
    await operator.stop();
    client.close();
  }
});
