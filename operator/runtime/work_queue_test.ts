import assert from "node:assert/strict";
import { FakeClock } from "./clock.ts";
import { WorkQueue } from "./work_queue.ts";

Deno.test("WorkQueue dedupes keys and keeps order", async () => {
  const queue = new WorkQueue({ clock: new FakeClock() });
  queue.add("a");
  queue.add("b");
  queue.add("a");
  assert.equal(queue.length, 2);
  assert.equal(await queue.get(), "a");
  assert.equal(await queue.get(), "b");
  assert.equal(queue.length, 0);
});

Deno.test("WorkQueue never hands out a key being processed; re-queues it on done", async () => {
  const queue = new WorkQueue({ clock: new FakeClock() });
  queue.add("a");
  const first = await queue.get();
  assert.equal(first, "a");
  queue.add("a");
  queue.add("a");
  assert.equal(queue.length, 0, "a is processing, so it waits");
  queue.add("b");
  assert.equal(await queue.get(), "b");
  queue.done("b");
  queue.done("a");
  assert.equal(queue.length, 1);
  assert.equal(await queue.get(), "a");
  queue.done("a");
  assert.equal(queue.length, 0);
});

Deno.test("WorkQueue.get waits for an add and resolves undefined on shutdown or abort", async () => {
  const queue = new WorkQueue({ clock: new FakeClock() });
  const waiting = queue.get();
  queue.add("x");
  assert.equal(await waiting, "x");
  const aborted = new AbortController();
  const pending = queue.get(aborted.signal);
  aborted.abort();
  assert.equal(await pending, undefined);
  const another = queue.get();
  queue.shutDown();
  assert.equal(await another, undefined);
  queue.add("y");
  assert.equal(await queue.get(), undefined);
});

Deno.test("WorkQueue.addAfter fires after the delay; the earliest delay wins", async () => {
  const clock = new FakeClock();
  const queue = new WorkQueue({ clock });
  queue.addAfter("a", 1000);
  queue.addAfter("a", 5000);
  queue.addAfter("a", 500);
  assert.equal(queue.delayedCount, 1);
  await clock.advance(499);
  assert.equal(queue.length, 0);
  await clock.advance(1);
  assert.equal(queue.length, 1);
  assert.equal(queue.delayedCount, 0);
  await clock.advance(10_000);
  assert.equal(queue.length, 1, "later delays were replaced");
});

Deno.test("WorkQueue backs off exponentially up to the maximum and forgets", async () => {
  const clock = new FakeClock();
  const queue = new WorkQueue({ clock, baseBackoffMs: 100, maxBackoffMs: 1000 });
  const delays = [1, 2, 3, 4, 5, 6].map(() => queue.addRateLimited("k"));
  assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
  assert.equal(queue.failures("k"), 6);
  await clock.advance(100);
  assert.equal(queue.length, 1, "the earliest backoff timer queued it");
  queue.forget("k");
  assert.equal(queue.failures("k"), 0);
  assert.equal(queue.addRateLimited("k"), 100);
});

Deno.test("WorkQueue rejects a nonsensical backoff", () => {
  assert.throws(() => new WorkQueue({ baseBackoffMs: 0 }), RangeError);
  assert.throws(() => new WorkQueue({ baseBackoffMs: 10, maxBackoffMs: 5 }), RangeError);
});

Deno.test("WorkQueue.shutDown cancels delayed keys", async () => {
  const clock = new FakeClock();
  const queue = new WorkQueue({ clock });
  queue.addAfter("a", 10);
  queue.shutDown();
  assert.equal(clock.pendingTimers, 0);
  await clock.advance(100);
  assert.equal(queue.length, 0);
});
