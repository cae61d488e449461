import assert from "node:assert/strict";
import { PartitionOffsets } from "./offsets.ts";

Deno.test("PartitionOffsets commits only past contiguous finished offsets", () => {
  const offsets = new PartitionOffsets();
  for (const offset of [10, 11, 12, 13]) offsets.register(offset);
  assert.equal(offsets.committable(), undefined);
  offsets.finish(11);
  offsets.finish(13);
  assert.equal(offsets.committable(), undefined);
  assert.equal(offsets.position, 10);
  offsets.finish(10);
  assert.equal(offsets.committable(), 12);
  assert.equal(offsets.position, 12);
  offsets.finish(12);
  assert.equal(offsets.committable(), 14);
  assert.equal(offsets.unfinished, 0);
});

Deno.test("PartitionOffsets never passes a stuck offset", () => {
  const offsets = new PartitionOffsets();
  for (let offset = 0; offset < 100; offset++) offsets.register(offset);
  for (let offset = 0; offset < 100; offset++) if (offset !== 40) offsets.finish(offset);
  assert.equal(offsets.committable(), 40);
  assert.equal(offsets.unfinished, 1);
});

Deno.test("PartitionOffsets handles gaps and reports nothing new after a commit", () => {
  const offsets = new PartitionOffsets();
  offsets.register(5);
  offsets.register(9);
  offsets.finish(5);
  offsets.finish(9);
  assert.equal(offsets.committable(), 10);
  offsets.markCommitted(10);
  assert.equal(offsets.committable(), undefined);
  assert.equal(offsets.committed, 10);
  assert.equal(offsets.nextOffset, 10);
  assert.equal(offsets.has(9), true);
  assert.equal(offsets.has(10), false);
});

Deno.test("PartitionOffsets rejects offsets that do not grow and ignores unknown finishes", () => {
  const offsets = new PartitionOffsets();
  offsets.register(3);
  assert.throws(() => offsets.register(3), RangeError);
  offsets.finish(1);
  offsets.finish(7);
  assert.equal(offsets.unfinished, 1);
  assert.equal(offsets.committable(), undefined);
});

Deno.test("PartitionOffsets keeps working after compaction", () => {
  const offsets = new PartitionOffsets();
  for (let offset = 0; offset < 5000; offset++) offsets.register(offset);
  for (let offset = 0; offset < 4000; offset++) offsets.finish(offset);
  assert.equal(offsets.committable(), 4000);
  for (let offset = 4999; offset >= 4000; offset--) offsets.finish(offset);
  assert.equal(offsets.committable(), 5000);
});
