import assert from "node:assert/strict";
import { delay } from "../async/mod.ts";
import { KeyedPool, type KeyedPoolOptions, type PoolTaskContext } from "./keyed_pool.ts";

/** A pool whose items are the tasks themselves. */
type Task = (context: PoolTaskContext) => Promise<unknown>;

function taskPool(
  options: Omit<KeyedPoolOptions<Task>, "run">,
): KeyedPool<Task> {
  return new KeyedPool<Task>({ ...options, run: (task, context) => task(context) });
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => resolve = r);
  return { promise, resolve };
}

Deno.test("KeyedPool runs one key's tasks one at a time, in submit order", async () => {
  const pool = taskPool({ size: 4 });
  const order: number[] = [];
  let running = 0;
  let maxRunning = 0;
  for (let i = 0; i < 10; i++) {
    pool.submit("a", async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await delay(1);
      order.push(i);
      running--;
    });
  }
  assert.equal(await pool.idle(), true);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(maxRunning, 1);
});

Deno.test("KeyedPool runs other keys while one key is blocked", async () => {
  const pool = taskPool({ size: 2 });
  const blocker = deferred();
  const done: string[] = [];
  pool.submit("slow", () => blocker.promise.then(() => void done.push("slow-1")));
  pool.submit("slow", () => Promise.resolve(void done.push("slow-2")));
  for (const key of ["b", "c", "d"]) pool.submit(key, () => Promise.resolve(void done.push(key)));
  await delay(5);
  assert.deepEqual(done, ["b", "c", "d"]);
  blocker.resolve();
  await pool.idle();
  assert.deepEqual(done, ["b", "c", "d", "slow-1", "slow-2"]);
});

Deno.test("KeyedPool never runs more tasks than its size", async () => {
  const pool = taskPool({ size: 3 });
  let running = 0;
  let maxRunning = 0;
  for (let i = 0; i < 20; i++) {
    pool.submit(`k${i}`, async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await delay(1);
      running--;
    });
  }
  await pool.idle();
  assert.equal(maxRunning, 3);
});

Deno.test("KeyedPool sleep frees the slot but keeps the key", async () => {
  const pool = taskPool({ size: 1 });
  const done: string[] = [];
  pool.submit("a", async (context) => {
    await context.sleep(20);
    done.push("a-1");
  });
  pool.submit("a", () => Promise.resolve(void done.push("a-2")));
  pool.submit("b", () => Promise.resolve(void done.push("b")));
  await pool.idle();
  assert.deepEqual(done, ["b", "a-1", "a-2"]);
});

Deno.test("KeyedPool sleep rejects when its signal aborts", async () => {
  const pool = taskPool({ size: 1 });
  const controller = new AbortController();
  let caught: unknown;
  pool.submit("a", async (context) => {
    try {
      await context.sleep(60_000, controller.signal);
    } catch (error) {
      caught = error;
    }
  });
  await delay(1);
  controller.abort(new Error("stop"));
  await pool.idle();
  assert.equal((caught as Error).message, "stop");
});

Deno.test("KeyedPool resize lets more tasks run", async () => {
  const pool = taskPool({ size: 1 });
  const blocker = deferred();
  let started = 0;
  for (let i = 0; i < 3; i++) {
    pool.submit(`k${i}`, () => {
      started++;
      return blocker.promise;
    });
  }
  await delay(1);
  assert.equal(started, 1);
  pool.resize(3);
  await delay(1);
  assert.equal(started, 3);
  assert.throws(() => pool.resize(0), RangeError);
  blocker.resolve();
  await pool.idle();
});

Deno.test("KeyedPool clearQueued drops only tasks not yet started", async () => {
  const pool = taskPool({ size: 1 });
  const blocker = deferred();
  const done: string[] = [];
  pool.submit("a", () => blocker.promise.then(() => void done.push("a")));
  pool.submit("a", () => Promise.resolve(void done.push("a-2")));
  pool.submit("b", () => Promise.resolve(void done.push("b")));
  await delay(1);
  assert.equal(pool.clearQueued().length, 2);
  assert.equal(pool.pending, 1);
  blocker.resolve();
  await pool.idle();
  assert.deepEqual(done, ["a"]);
});

Deno.test("KeyedPool idle returns false when its signal aborts", async () => {
  const pool = taskPool({ size: 1 });
  const blocker = deferred();
  pool.submit("a", () => blocker.promise);
  assert.equal(await pool.idle(AbortSignal.timeout(5)), false);
  blocker.resolve();
  assert.equal(await pool.idle(), true);
});

Deno.test("KeyedPool reports task errors and keeps going", async () => {
  const errors: unknown[] = [];
  const pool = taskPool({ size: 1, onError: (error) => errors.push(error) });
  pool.submit("a", () => Promise.reject(new Error("boom")));
  pool.submit("a", () => {
    throw new Error("sync boom");
  });
  let ran = false;
  pool.submit("a", () => Promise.resolve(void (ran = true)));
  await pool.idle();
  assert.equal(errors.length, 2);
  assert.equal(ran, true);
});

Deno.test("KeyedPool counts the tasks each key holds", async () => {
  const pool = taskPool({ size: 1 });
  const { promise, resolve } = Promise.withResolvers<void>();
  assert.equal(pool.submit("a", () => promise), 1);
  assert.equal(pool.submit("a", () => Promise.resolve()), 2);
  assert.equal(pool.submit("a", () => Promise.resolve()), 3);
  assert.equal(pool.submit("b", () => Promise.resolve()), 1);
  assert.equal(pool.held("a"), 3);
  resolve();
  await pool.idle();
  assert.equal(pool.held("a"), 0);
});

Deno.test("KeyedPool wait frees the slot, keeps the key and tells who waits", async () => {
  const waiting: string[] = [];
  const pool = taskPool({ size: 1, onWaiting: (key) => waiting.push(key) });
  const gate = deferred();
  const done: string[] = [];
  pool.submit("a", async (context) => {
    await context.wait(gate.promise);
    done.push("a-1");
  });
  pool.submit("a", () => Promise.resolve(void done.push("a-2")));
  pool.submit("b", () => Promise.resolve(void done.push("b")));
  await delay(5);
  assert.deepEqual(done, ["b"]);
  assert.deepEqual(waiting, ["a"]);
  assert.equal(pool.isWaiting("a"), true);
  assert.equal(pool.waiting, 1);
  assert.equal(pool.runnable, 1, "a-2 is queued, a-1 waits");
  gate.resolve();
  await pool.idle();
  assert.deepEqual(done, ["b", "a-1", "a-2"]);
  assert.equal(pool.isWaiting("a"), false);
});

Deno.test("KeyedPool evictQueued takes a key's queued items out, in order, and no others", async () => {
  const pool = taskPool({ size: 1 });
  const gate = deferred();
  const first: Task = () => gate.promise;
  const second: Task = () => Promise.resolve();
  const third: Task = () => Promise.resolve();
  const other: Task = () => Promise.resolve();
  pool.submit("a", first);
  pool.submit("a", second);
  pool.submit("a", third);
  pool.submit("b", other);
  await delay(1);
  assert.deepEqual(pool.evictQueued("a"), [second, third]);
  assert.equal(pool.held("a"), 1);
  assert.equal(pool.pending, 2);
  assert.deepEqual(pool.evictQueuedWhere((key) => key === "b"), [other]);
  gate.resolve();
  assert.equal(await pool.idle(), true);
});

Deno.test("KeyedPool onSettled gets each item once it left the counts", async () => {
  const settled: string[] = [];
  const pool = new KeyedPool<string>({
    size: 2,
    run: (item) => item === "bad" ? Promise.reject(new Error("no")) : Promise.resolve(),
    onSettled: (item) => settled.push(`${item}:${pool.pending}`),
  });
  pool.submit("k", "good");
  pool.submit("k", "bad");
  await pool.idle();
  assert.deepEqual(settled, ["good:1", "bad:0"]);
});

Deno.test("KeyedPool weighs what it holds: runnable and waiting apart, back to 0 whichever way items leave", async () => {
  const weights = new Map<Task, number>();
  const pool = taskPool({ size: 1, weigh: (task) => weights.get(task) ?? 0 });
  const gate = deferred();
  const held = deferred();
  const submit = (key: string, weight: number, task: Task) => {
    weights.set(task, weight);
    pool.submit(key, task);
  };
  submit("a", 100, (context) => context.wait(gate.promise));
  submit("a", 10, () => Promise.resolve());
  submit("b", 1, () => held.promise);
  submit("c", 1000, () => Promise.resolve());
  await delay(1);
  // a's first waits (slot given back), b's runs, a's second and c's are queued.
  assert.equal(pool.waitingWeight, 100);
  assert.equal(pool.runnableWeight, 10 + 1 + 1000);
  pool.evictQueued("c");
  assert.equal(pool.runnableWeight, 11, "an evicted item leaves its weight");
  gate.resolve();
  held.resolve();
  await pool.idle();
  assert.equal(pool.waitingWeight, 0);
  assert.equal(pool.runnableWeight, 0);
  submit("d", 5, () => held.promise);
  submit("d", 7, () => Promise.resolve());
  assert.equal(pool.clearQueued().length, 1);
  await pool.idle();
  assert.equal(pool.runnableWeight, 0, "cleared and finished items leave theirs");
});

Deno.test("KeyedPool with deferStarts starts a burst of submits in a later turn, after the submitter's promise work", async () => {
  const pool = taskPool({ size: 3, deferStarts: true });
  const events: string[] = [];
  const task = (name: string): Task => async () => {
    events.push(`start ${name}`);
    await delay(1);
  };
  for (const [key, name] of [["a", "a1"], ["b", "b1"], ["a", "a2"], ["c", "c1"], ["d", "d1"]]) {
    pool.submit(key!, task(name!));
  }
  assert.equal(pool.active, 0, "nothing starts inside submit");
  assert.equal(pool.pending, 5);
  // The submitter's own promise chain (kafkajs sending its next fetch) runs first.
  await Promise.resolve().then(() => events.push("submitter"));
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(events.slice(0, 4), ["submitter", "start a1", "start b1", "start c1"]);
  assert.equal(await pool.idle(), true);
  // A slot coming free starts the next item at once; per-key order holds.
  assert.deepEqual(events.slice(4).sort(), ["start a2", "start d1"]);
  assert.ok(events.indexOf("start a2") > events.indexOf("start a1"));
});

Deno.test("KeyedPool with deferStarts lets items evicted before their turn go without running", async () => {
  const pool = taskPool({ size: 2, deferStarts: true });
  let ran = 0;
  pool.submit("a", () => Promise.resolve(ran++));
  pool.submit("b", () => Promise.resolve(ran++));
  assert.equal(pool.clearQueued().length, 2);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(ran, 0);
  assert.equal(await pool.idle(), true);
});
