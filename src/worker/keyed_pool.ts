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

/** What a running task can do with its slot. */
export interface PoolTaskContext {
  /**
   * Frees the slot for `ms` while keeping the key, then waits for a slot
   * again. Rejects with the signal's reason when `signal` aborts first.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** One unit of work; its key stays held until the returned promise settles. */
export type PoolTask = (context: PoolTaskContext) => Promise<void>;

/** Options of {@linkcode KeyedPool}. */
export interface KeyedPoolOptions {
  /** How many tasks may hold a slot at once. */
  size: number;
  /** Called with every error a task throws (tasks should handle their own). */
  onError?: (error: unknown) => void;
  /** Called after each task settled and left the pool's counts. */
  onSettled?: () => void;
}

interface KeyQueue {
  tasks: PoolTask[];
  busy: boolean;
}

/** A bounded pool of slots that serializes tasks by key. */
export class KeyedPool {
  #size: number;
  #active = 0;
  #tasks = 0;
  readonly #keys = new Map<string, KeyQueue>();
  /** Keys whose head task may start, in the order they became ready. */
  readonly #ready: string[] = [];
  /** Tasks back from a sleep waiting for a slot; served before new keys. */
  readonly #resuming: (() => void)[] = [];
  readonly #idleWaiters = new Set<() => void>();
  readonly #onError: (error: unknown) => void;
  readonly #onSettled: () => void;
  /** What every task gets: sleeping needs nothing of the task but its slot. */
  readonly #context: PoolTaskContext = { sleep: (ms, signal) => this.#sleep(ms, signal) };

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

  /** Queues `task` behind every earlier task of `key`. */
  submit(key: string, task: PoolTask): void {
    let queue = this.#keys.get(key);
    if (!queue) {
      queue = { tasks: [], busy: false };
      this.#keys.set(key, queue);
    }
    queue.tasks.push(task);
    this.#tasks++;
    if (!queue.busy && queue.tasks.length === 1) this.#ready.push(key);
    this.#schedule();
  }

  /**
   * Drops every queued task that has not started yet (running and sleeping
   * ones are left alone) and returns how many were dropped.
   */
  clearQueued(): number {
    let dropped = 0;
    for (const [key, queue] of this.#keys) {
      dropped += queue.tasks.length;
      this.#tasks -= queue.tasks.length;
      queue.tasks = [];
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
      const key = this.#ready.shift();
      if (key === undefined) return;
      this.#start(key);
    }
  }

  #start(key: string): void {
    const queue = this.#keys.get(key);
    const task = queue?.tasks.shift();
    if (!queue || !task) return;
    queue.busy = true;
    this.#active++;
    let run: Promise<void>;
    try {
      run = task(this.#context);
    } catch (error) {
      run = Promise.reject(error);
    }
    // One reaction per task (not `catch` then `finally`): this runs per job.
    run.then(
      () => this.#finish(key, queue),
      (error) => {
        try {
          this.#onError(error);
        } finally {
          this.#finish(key, queue);
        }
      },
    );
  }

  #finish(key: string, queue: KeyQueue): void {
    this.#active--;
    this.#tasks--;
    queue.busy = false;
    if (queue.tasks.length > 0) this.#ready.push(key);
    else this.#keys.delete(key);
    this.#schedule();
    this.#notifyIdle();
    this.#onSettled();
  }

  async #sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.#active--;
    this.#schedule();
    try {
      await delay(ms, signal);
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

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function checkSize(size: number): number {
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`Invalid pool size: expected an integer >= 1, got ${size}`);
  }
  return size;
}
