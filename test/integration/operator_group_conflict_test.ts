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
  kubectl,
  newClient,
  observedPool,
  poolManifest,
  sharedKube,
  startPrivateKube,
  startTestOperator,
} from "./operator_support.ts";
import { DEFAULT_CRDS } from "../env/kube.ts";
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

Deno.test("consumer groups are cluster-wide: pools in other namespaces on the same brokers conflict", async () => {
  // A server of its own: an operator watching every namespace must not meet other tests' pools.
  const { access, client, stop } = await startPrivateKube([...DEFAULT_CRDS]);
  try {
    const system = await createNamespace(access, "op-system");
    const teamA = await createNamespace(access, "team-a");
    const teamB = await createNamespace(access, "team-b");
    const teamC = await createNamespace(access, "team-c");
    const operator = await startTestOperator({
      client,
      namespace: system,
      watchAllNamespaces: true,
      resyncPeriodMs: 3_600_000,
      watchdogMs: 90_000,
    });
    const standIns = startStandIns(client, [teamA, teamB, teamC]);
    const pool = (namespace: string, brokers: string[]) =>
      poolManifest(namespace, "orders", {
        kafka: {
          bootstrapServers: brokers,
          topic: { name: "orders-jobs", partitions: 6 },
          consumerGroup: "orders",
        },
      });
    const settled = (namespace: string, what: string, until: (pool: KubeObject) => boolean) =>
      observedPool(access, { namespace, name: "orders" }, { what, until });
    try {
      await applyObjects(access, pool(teamA, ["kafka-0.kafka:9092", "kafka-1.kafka:9092"]));
      await settled(
        teamA,
        "team-a's pool to be Ready",
        (p) => condition(p, "Ready")?.status === "True",
      );
      // Same group, a bootstrap server in common, another namespace: the group is taken.
      await applyObjects(access, pool(teamB, ["KAFKA-1.kafka:9092"]));
      const loser = await settled(
        teamB,
        "team-b's pool to report the conflict",
        (p) => condition(p, "Ready")?.reason === "ConsumerGroupConflict",
      );
      assert.equal(condition(loser, "Ready")?.status, "False");
      assert.match(condition(loser, "Ready")?.message ?? "", new RegExp(`${teamA}/orders`));
      assert.equal(await getJson(access, ["deployment", "orders-worker", "-n", teamB]), undefined);
      // Same group on another Kafka cluster: no conflict.
      await applyObjects(access, pool(teamC, ["other-kafka:9092"]));
      await settled(
        teamC,
        "team-c's pool to be Ready",
        (p) => condition(p, "Ready")?.status === "True",
      );

      // The owner goes: the loser in the other namespace is woken at once and takes the group.
      await kubectl(access, ["delete", "jwp", "orders", "-n", teamA, "--wait=false"]);
      await settled(
        teamB,
        "team-b's pool to take the group",
        (p) => condition(p, "Ready")?.status === "True",
      );
      assert.ok(await getJson(access, ["deployment", "orders-worker", "-n", teamB]));
    } finally {
      await standIns.stop();
      await operator.stop();
    }
  } finally {
    await stop();
  }
});
