import assert from "node:assert/strict";
import { Committer } from "./commits.ts";
import { OwnedPartition } from "./intake.ts";
import type { TopicPartitionOffset } from "./offsets.ts";

function owner(partition: number, finished: number): OwnedPartition {
  const owned = new OwnedPartition("t", partition);
  for (let offset = 0; offset < finished; offset++) {
    owned.offsets.register(offset);
    owned.offsets.finish(offset);
  }
  return owned;
}

Deno.test("only acknowledged commits count: a refused one is sent again, an idle partition too", async () => {
  const owners = [owner(0, 3), owner(1, 5)];
  const sent: TopicPartitionOffset[][] = [];
  let refuse = true;
  const committed: string[] = [];
  const committer = new Committer({
    commit: (offsets) => {
      sent.push([...offsets]);
      if (refuse) return Promise.reject(new Error("not acknowledged"));
      return Promise.resolve();
    },
    owned: () => owners.values(),
    intervalMs: 60_000,
    batchSize: 1_000,
    onCommitted: (o, offset) => committed.push(`${o.partition}@${offset}`),
  });
  await committer.commit();
  assert.deepEqual(committed, []);
  assert.equal(owners[0]!.offsets.committed, undefined);
  refuse = false;
  await committer.commit();
  assert.deepEqual(committed, ["0@3", "1@5"]);
  await committer.commit();
  assert.equal(sent.length, 2, "nothing new: nothing sent");
});

Deno.test("a full batch of finished jobs commits without waiting for the interval", async () => {
  const owners = [owner(0, 2)];
  let commits = 0;
  const committer = new Committer({
    commit: () => Promise.resolve(void commits++),
    owned: () => owners.values(),
    intervalMs: 60_000,
    batchSize: 2,
  });
  committer.finished();
  assert.equal(commits, 0);
  committer.finished();
  await committer.commit();
  assert.equal(commits, 1, "the batch's commit and the explicit one were one");
});
