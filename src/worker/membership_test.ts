import assert from "node:assert/strict";
import { Committer } from "./commits.ts";
import { Intake, type WorkerJob } from "./intake.ts";
import { KeyedPool } from "./keyed_pool.ts";
import { Membership } from "./membership.ts";
import { noopMetrics } from "./noop_metrics.ts";

/** Membership of topic `t` whose group has committed `groupCommits` (partition → offset). */
function setup(groupCommits: Map<number, number>) {
  const pool = new KeyedPool<WorkerJob>({ size: 1, run: () => Promise.resolve() });
  const consumer = { seek() {}, pausePartition() {}, resumePartition() {} };
  const intake = new Intake({
    pool,
    consumer,
    bufferSize: 10,
    bufferBytes: 1 << 20,
    keyCap: 2,
    deferLimit: 100,
    maxWaiting: 10,
  });
  const checked = Promise.withResolvers<void>();
  const membership: Membership = new Membership({
    topic: "t",
    consumerGroup: "g",
    shutdownTimeoutMs: 10,
    rebalanceTimeoutMs: 60_000,
    heartbeatIntervalMs: 1_000,
    pool,
    intake,
    committer: () => committer,
    consumer,
    admin: {
      fetchTopicOffsets: () =>
        Promise.resolve(
          [0, 1].map((partition) => ({ partition, offset: "9", high: "9", low: "0" })),
        ),
      fetchOffsets: () =>
        Promise.resolve([{
          topic: "t",
          partitions: [0, 1].map((partition) => ({
            partition,
            offset: String(groupCommits.get(partition) ?? -1),
            metadata: null,
          })),
        }]),
    },
    metrics: noopMetrics(),
    onChecked: () => checked.resolve(),
  });
  const committer = new Committer({
    commit: () => Promise.resolve(),
    owned: () => membership.owned.values(),
    intervalMs: 60_000,
    batchSize: 100,
  });
  return { membership, checked: checked.promise };
}

Deno.test("a kept partition keeps its state unless the group committed past it meanwhile", async () => {
  const commits = new Map([[0, 2], [1, 2]]);
  const { membership, checked } = setup(commits);
  membership.joined({ t: [0, 1] });
  const [zero, one] = [membership.own("t", 0), membership.own("t", 1)];
  for (const owner of [zero, one]) {
    for (let offset = 2; offset < 6; offset++) owner.offsets.register(offset);
    owner.offsets.finish(2);
    owner.offsets.markCommitted(3);
  }
  // While this member was away, someone else committed partition 1 up to 8.
  commits.set(1, 8);
  membership.joined({ t: [0, 1] });
  assert.equal(membership.checking, true, "nothing is taken while the commits are checked");
  await checked;
  assert.equal(membership.own("t", 0), zero, "partition 0 is kept with what it knew");
  assert.notEqual(membership.own("t", 1), one, "partition 1 starts afresh");
  assert.equal(one.stop.signal.aborted, true, "its old jobs start no new attempt");
  assert.equal(membership.checking, false);
});

Deno.test("a partition missing from the new assignment is let go", () => {
  const { membership } = setup(new Map());
  membership.joined({ t: [0, 1] });
  const one = membership.own("t", 1);
  membership.joined({ t: [0] });
  assert.equal(membership.isCurrent(one), false);
  assert.equal(one.stop.signal.aborted, true);
  assert.equal(membership.assigned, 1);
  assert.equal(membership.joins, 2);
});
