import assert from "node:assert/strict";
import { fetchGroupLag, type LagAdmin } from "./lag.ts";

function fakeAdmin(
  ends: { partition: number; low: string; high: string }[],
  committed: { partition: number; offset: string }[],
): LagAdmin {
  return {
    fetchTopicOffsets: (_topic: string) =>
      Promise.resolve(ends.map((end) => ({ ...end, offset: end.high }))),
    fetchOffsets: ({ topics }: { groupId: string; topics?: string[] }) =>
      Promise.resolve([{
        topic: topics?.[0] ?? "",
        partitions: committed.map((entry) => ({ ...entry, metadata: null })),
      }]),
  } as unknown as LagAdmin;
}

Deno.test("lag is the log end minus the committed offset, summed over partitions", async () => {
  const admin = fakeAdmin(
    [{ partition: 1, low: "0", high: "10" }, { partition: 0, low: "0", high: "7" }],
    [{ partition: 0, offset: "4" }, { partition: 1, offset: "10" }],
  );
  const lag = await fetchGroupLag(admin, "workers", "jobs");
  assert.deepEqual(lag.partitions.map((p) => [p.partition, p.currentOffset, p.lag]), [
    [0, 4, 3],
    [1, 10, 0],
  ]);
  assert.equal(lag.total, 3);
  assert.equal(lag.group, "workers");
});

Deno.test("a partition without a commit lags by every retained message", async () => {
  const admin = fakeAdmin([{ partition: 0, low: "5", high: "12" }], [
    { partition: 0, offset: "-1" },
  ]);
  const [partition] = (await fetchGroupLag(admin, "g", "t")).partitions;
  assert.equal(partition?.currentOffset, null);
  assert.equal(partition?.lag, 7);
});

Deno.test("a commit below the log start counts from the log start", async () => {
  const admin = fakeAdmin([{ partition: 0, low: "50", high: "60" }], [
    { partition: 0, offset: "20" },
  ]);
  assert.equal((await fetchGroupLag(admin, "g", "t")).total, 10);
});
