/**
 * A bounded pool of concurrent slots with per-key serialization: tasks with
 * the same key run one at a time in submit order, tasks with different keys
 * run in parallel up to the pool size. This is what lets one partition feed
 * many workers without breaking a campaign's order.
 *
 * A task may give its slot back while it waits (a retry delay) without
 * giving up its key, so the key's later tasks keep waiting but other keys use
 * the slot.
 *
 * @module
 */

import { delay } from "../async/mod.ts";

/** What a running task can do with its slot. */
export interface PoolTaskContext {
  /**
   * Frees the slot for `ms` while keeping the key, then waits for a slot
   * again. Rejects with the signal's reason when `signal` aborts first.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** One unit of work; its key stays held until the returned promise settles (its value is ignored). */
export type PoolTask = (context: PoolTaskContext) => Promise<unknown>;

/** Options of {@linkcode KeyedPool}. */
export interface KeyedPoolOptions {
  /** How many tasks may hold a slot at once. */
  size: number;
  /** Called with every error a task throws (tasks should handle their own). */
  onError?: (error: unknown) => void;
  /** Called after each task settled and left the pool's counts. */
  onSettled?: () => void;
}

/**
 * The tasks of one key. Most keys hold one task at a time, so the first
 * waits in `head` and an array is made only once a second one queues.
 */
interface KeyQueue {
  readonly key: string;
  head: PoolTask | undefined;
  /** Tasks behind `head`, in submit order. */
  rest: PoolTask[] | undefined;
  busy: boolean;
}

/** A bounded pool of slots that serializes tasks by key. */
export class KeyedPool {
  #size: number;
  #active = 0;
  #tasks = 0;
  readonly #keys = new Map<string, KeyQueue>();
  /** Keys whose head task may start, in the order they became ready. */
  readonly #ready: KeyQueue[] = [];
  /** Tasks back from a sleep waiting for a slot; served before new keys. */
  readonly #resuming: (() => void)[] = [];
  readonly #idleWaiters = new Set<() => void>();
  readonly #onError: (error: unknown) => void;
  readonly #onSettled: () => void;
  /** What every task gets: sleeping needs nothing of the task but its slot. */
  readonly #context: PoolTaskContext = { sleep: (ms, signal) => this.#sleep(ms, signal) };

  /** A pool of `options.size` slots. */
  constructor(options: KeyedPoolOptions) {
    this.#size = checkSize(options.size);
    this.#onError = options.onError ?? (() => {});
    this.#onSettled = options.onSettled ?? (() => {});
  }

  /** The number of slots. */
  get size(): number {
    return this.#size;
  }

  /** Tasks holding a slot right now. */
  get active(): number {
    return this.#active;
  }

  /** Tasks submitted and not yet settled (queued, running or sleeping). */
  get pending(): number {
    return this.#tasks;
  }

  /** Changes the number of slots; running tasks above a smaller size finish normally. */
  resize(size: number): void {
    this.#size = checkSize(size);
    this.#schedule();
  }

  /**
   * Queues `task` behind every earlier task of `key`; returns how many tasks
   * `key` holds now (this one included), running or waiting.
   */
  submit(key: string, task: PoolTask): number {
    this.#tasks++;
    const queue = this.#keys.get(key);
    let held: number;
    if (!queue) {
      const fresh: KeyQueue = { key, head: task, rest: undefined, busy: false };
      this.#keys.set(key, fresh);
      this.#ready.push(fresh);
      held = 1;
    } else if (queue.head === undefined) {
      queue.head = task;
      if (!queue.busy) this.#ready.push(queue);
      held = queue.busy ? 2 : 1;
    } else {
      held = (queue.rest ??= []).push(task) + (queue.busy ? 2 : 1);
    }
    this.#schedule();
    return held;
  }

  /** How many tasks `key` holds, running or waiting. */
  held(key: string): number {
    const queue = this.#keys.get(key);
    if (!queue) return 0;
    return (queue.busy ? 1 : 0) + (queue.head === undefined ? 0 : 1) + (queue.rest?.length ?? 0);
  }

  /**
   * Drops every queued task that has not started yet (running and sleeping
   * ones are left alone) and returns how many were dropped.
   */
  clearQueued(): number {
    let dropped = 0;
    for (const [key, queue] of this.#keys) {
      const queued = (queue.head === undefined ? 0 : 1) + (queue.rest?.length ?? 0);
      dropped += queued;
      this.#tasks -= queued;
      queue.head = undefined;
      queue.rest = undefined;
      if (!queue.busy) this.#keys.delete(key);
    }
    this.#ready.length = 0;
    this.#notifyIdle();
    return dropped;
  }

  /**
   * Resolves `true` once no task is queued, running or sleeping, or `false`
   * when `signal` aborts first.
   */
  idle(signal?: AbortSignal): Promise<boolean> {
    if (this.#tasks === 0) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (result: boolean) => {
        this.#idleWaiters.delete(onIdle);
        signal?.removeEventListener("abort", onAbort);
        resolve(result);
      };
      const onIdle = () => done(true);
      const onAbort = () => done(false);
      this.#idleWaiters.add(onIdle);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  #schedule(): void {
    while (this.#active < this.#size) {
      const resume = this.#resuming.shift();
      if (resume) {
        this.#active++;
        resume();
        continue;
      }
      const queue = this.#ready.shift();
      if (queue === undefined) return;
      this.#start(queue);
    }
  }

  #start(queue: KeyQueue): void {
    const task = queue.head;
    if (task === undefined) return;
    queue.head = queue.rest?.shift();
    if (queue.rest?.length === 0) queue.rest = undefined;
    queue.busy = true;
    this.#active++;
    let run: Promise<unknown>;
    try {
      run = task(this.#context);
    } catch (error) {
      run = Promise.reject(error);
    }
    // One reaction per task (not `catch` then `finally`): this runs per job.
    run.then(
      () => this.#finish(queue),
      (error) => {
        try {
          this.#onError(error);
        } finally {
          this.#finish(queue);
        }
      },
    );
  }

  #finish(queue: KeyQueue): void {
    this.#active--;
    this.#tasks--;
    queue.busy = false;
    if (queue.head !== undefined) this.#ready.push(queue);
    else this.#keys.delete(queue.key);
    this.#schedule();
    this.#notifyIdle();
    this.#onSettled();
  }

  async #sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.#active--;
    this.#schedule();
    try {
      await delay(ms, signal ? { signal } : {});
    } finally {
      // Whether it slept or was aborted, the task goes on running, so it
      // needs its slot back before it continues.
      await new Promise<void>((resolve) => {
        this.#resuming.push(resolve);
        this.#schedule();
      });
    }
  }

  #notifyIdle(): void {
    if (this.#tasks !== 0) return;
    for (const waiter of [...this.#idleWaiters]) waiter();
  }
}

function checkSize(size: number): number {
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`Invalid pool size: expected an integer >= 1, got ${size}`);
  }
  return size;
}
