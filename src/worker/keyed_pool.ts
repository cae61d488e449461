/**
 * A bounded pool of concurrent slots with per-key serialization: items with
 * the same key run one at a time in submit order, items with different keys
 * run in parallel up to the pool size. This is what lets one partition feed
 * many workers without breaking a campaign's order.
 *
 * A running item may give its slot back while it waits (a retry delay, a
 * dependency outage, a claim held elsewhere) without giving up its key: the
 * key's later items keep waiting, other keys use the slot. The pool tells
 * its owner when a key starts waiting ({@linkcode KeyedPoolOptions.onWaiting}),
 * so that the owner can take that key's queued items out of memory
 * ({@linkcode KeyedPool.evictQueued}) instead of letting them hold buffer
 * space other keys need.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { delay } from "../async/mod.ts";

/** What a running item can do with its slot. */
export interface PoolTaskContext {
  /**
   * Frees the slot for `ms` while keeping the key, then waits for a slot
   * again. Rejects with the signal's reason when `signal` aborts first.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * Frees the slot while keeping the key until `until` settles, then waits
   * for a slot again; settles as `until` did.
   */
  wait<R>(until: Promise<R>): Promise<R>;
}

/** Options of {@linkcode KeyedPool}. */
export interface KeyedPoolOptions<T> {
  /** How many items may hold a slot at once. */
  size: number;
  /** Runs one item; its key stays held until the returned promise settles. */
  run: (item: T, context: PoolTaskContext) => Promise<unknown>;
  /** Called after each item's run settled and left the pool's counts. */
  onSettled?: (item: T) => void;
  /** Called when the running item of `key` gives its slot back to wait. */
  onWaiting?: (key: string) => void;
  /** Called with every error a run throws (runs should handle their own). */
  onError?: (error: unknown) => void;
  /**
   * An item's weight (the worker's: its message's bytes), summed in
   * {@linkcode KeyedPool.runnableWeight} and {@linkcode KeyedPool.waitingWeight}.
   * @default every item weighs 0
   */
  weigh?: (item: T) => number;
  /**
   * Items submitted while slots are free start in a later turn of the event
   * loop (one `setImmediate` for a whole burst of submits), never inside
   * {@linkcode KeyedPool.submit}. The worker's submitter is kafkajs's fetch
   * loop: its next fetch is sent before the jobs of the last one run, so
   * fetching overlaps with running instead of waiting for the pool to drain.
   * Items started by a slot coming free start at once either way.
   * @default false
   */
  deferStarts?: boolean;
}

/**
 * The items of one key, and the context its running item gets (one object
 * per key, so a job costs no context allocation). Most keys hold one item at
 * a time, so the first waits in `head` and an array is made only once a
 * second one queues.
 */
class KeyQueue<T> implements PoolTaskContext {
  readonly key: string;
  readonly #release: Release<T>;
  head: T | undefined = undefined;
  /** The busy item, while one holds the key. */
  current: T | undefined = undefined;
  /** Items behind `head`, in submit order. */
  rest: T[] | undefined = undefined;
  /** An item of this key holds the key (running or waiting). */
  get busy(): boolean {
    return this.current !== undefined;
  }
  /** The busy item gave its slot back and waits. */
  waiting = false;

  constructor(key: string, release: Release<T>) {
    this.key = key;
    this.#release = release;
  }

  /** Items waiting for their turn (not the busy one). */
  get queued(): number {
    return (this.head === undefined ? 0 : 1) + (this.rest?.length ?? 0);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.wait(delay(ms, signal ? { signal } : {}));
  }

  wait<R>(until: Promise<R>): Promise<R> {
    return this.#release(this, until);
  }
}

/** The pool's way of giving a key's slot back while its item waits. */
type Release<T> = <R>(queue: KeyQueue<T>, until: Promise<R>) => Promise<R>;

/** A bounded pool of slots that serializes items by key. */
export class KeyedPool<T> {
  #size: number;
  #active = 0;
  #waiting = 0;
  #items = 0;
  /** The weight of every item held (queued, running, waiting). */
  #weight = 0;
  /** The weight of the items that wait with their slot given back. */
  #waitingWeight = 0;
  readonly #keys = new Map<string, KeyQueue<T>>();
  /** Keys whose head item may start, in the order they became ready. */
  readonly #ready: KeyQueue<T>[] = [];
  /** Items back from a wait, waiting for a slot; served before new keys. */
  readonly #resuming: (() => void)[] = [];
  readonly #idleWaiters = new Set<() => void>();
  readonly #run: KeyedPoolOptions<T>["run"];
  readonly #onSettled: (item: T) => void;
  readonly #onWaiting: (key: string) => void;
  readonly #onError: (error: unknown) => void;
  readonly #weigh: ((item: T) => number) | undefined;
  readonly #release: Release<T> = (queue, until) => this.#wait(queue, until);
  readonly #deferStarts: boolean;
  /** A deferred start is scheduled (see {@linkcode KeyedPoolOptions.deferStarts}). */
  #startScheduled = false;
  readonly #scheduleLater = () => {
    this.#startScheduled = false;
    this.#schedule();
  };

  /** A pool of `options.size` slots running items with `options.run`. */
  constructor(options: KeyedPoolOptions<T>) {
    this.#size = checkSize(options.size);
    this.#run = options.run;
    this.#onSettled = options.onSettled ?? (() => {});
    this.#onWaiting = options.onWaiting ?? (() => {});
    this.#onError = options.onError ?? (() => {});
    this.#weigh = options.weigh;
    this.#deferStarts = options.deferStarts ?? false;
  }

  /** The number of slots. */
  get size(): number {
    return this.#size;
  }

  /** Items holding a slot right now. */
  get active(): number {
    return this.#active;
  }

  /** Items that gave their slot back to wait (they keep their key). */
  get waiting(): number {
    return this.#waiting;
  }

  /** Items submitted and not yet settled (queued, running or waiting). */
  get pending(): number {
    return this.#items;
  }

  /** Items queued or running: what needs a slot now or soon. */
  get runnable(): number {
    return this.#items - this.#waiting;
  }

  /** The weight of the items queued or running. */
  get runnableWeight(): number {
    return this.#weight - this.#waitingWeight;
  }

  /** The weight of the items that wait with their slot given back. */
  get waitingWeight(): number {
    return this.#waitingWeight;
  }

  /** Changes the number of slots; running items above a smaller size finish normally. */
  resize(size: number): void {
    this.#size = checkSize(size);
    this.#schedule();
  }

  /**
   * Queues `item` behind every earlier item of `key`; returns how many items
   * `key` holds now (this one included), busy or queued.
   */
  submit(key: string, item: T): number {
    this.#items++;
    if (this.#weigh) this.#weight += this.#weigh(item);
    let queue = this.#keys.get(key);
    if (!queue) {
      queue = new KeyQueue(key, this.#release);
      this.#keys.set(key, queue);
    }
    if (queue.head === undefined) {
      queue.head = item;
      if (!queue.busy) this.#ready.push(queue);
    } else {
      (queue.rest ??= []).push(item);
    }
    const held = queue.queued + (queue.busy ? 1 : 0);
    if (!this.#deferStarts) this.#schedule();
    else if (!this.#startScheduled && this.#active < this.#size) {
      this.#startScheduled = true;
      setImmediate(this.#scheduleLater);
    }
    return held;
  }

  /** How many items `key` holds, busy or queued. */
  held(key: string): number {
    const queue = this.#keys.get(key);
    return queue ? queue.queued + (queue.busy ? 1 : 0) : 0;
  }

  /** True while the busy item of `key` waits with its slot given back. */
  isWaiting(key: string): boolean {
    return this.#keys.get(key)?.waiting ?? false;
  }

  /** Takes the queued (not started) items of `key` out of the pool, in submit order. */
  evictQueued(key: string): T[] {
    const queue = this.#keys.get(key);
    if (!queue || queue.head === undefined) return [];
    const evicted = [queue.head, ...(queue.rest ?? [])];
    this.#drop(queue);
    if (!queue.busy) this.#keys.delete(key);
    this.#notifyIdle();
    return evicted;
  }

  /** Takes the queued items of every key that `matches` out of the pool. */
  evictQueuedWhere(matches: (key: string) => boolean): T[] {
    const evicted: T[] = [];
    for (const key of [...this.#keys.keys()]) {
      if (matches(key)) evicted.push(...this.evictQueued(key));
    }
    return evicted;
  }

  /** Takes every queued (not started) item out of the pool; busy ones are left alone. */
  clearQueued(): T[] {
    const evicted: T[] = [];
    for (const [key, queue] of this.#keys) {
      if (queue.head !== undefined) evicted.push(queue.head, ...(queue.rest ?? []));
      this.#drop(queue);
      if (!queue.busy) this.#keys.delete(key);
    }
    this.#ready.length = 0;
    this.#notifyIdle();
    return evicted;
  }

  /**
   * Resolves `true` once no item is queued, running or waiting, or `false`
   * when `signal` aborts first.
   */
  idle(signal?: AbortSignal): Promise<boolean> {
    if (this.#items === 0) return Promise.resolve(true);
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

  /** Gives `queue`'s slot back until `until` settles (see {@linkcode PoolTaskContext.wait}). */
  async #wait<R>(queue: KeyQueue<T>, until: Promise<R>): Promise<R> {
    const weight = this.#weigh && queue.current !== undefined ? this.#weigh(queue.current) : 0;
    this.#active--;
    this.#waiting++;
    this.#waitingWeight += weight;
    queue.waiting = true;
    this.#schedule();
    this.#onWaiting(queue.key);
    try {
      return await until;
    } finally {
      this.#waiting--;
      this.#waitingWeight -= weight;
      queue.waiting = false;
      // Whether it waited its time or was aborted, the item goes on running,
      // so it needs its slot back before it continues.
      await new Promise<void>((resolve) => {
        this.#resuming.push(resolve);
        this.#schedule();
      });
    }
  }

  #drop(queue: KeyQueue<T>): void {
    this.#items -= queue.queued;
    if (this.#weigh) {
      if (queue.head !== undefined) this.#weight -= this.#weigh(queue.head);
      for (const item of queue.rest ?? []) this.#weight -= this.#weigh(item);
    }
    queue.head = undefined;
    queue.rest = undefined;
    const ready = this.#ready.indexOf(queue);
    if (ready >= 0) this.#ready.splice(ready, 1);
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

  #start(queue: KeyQueue<T>): void {
    const item = queue.head;
    if (item === undefined) return;
    queue.head = queue.rest?.shift();
    if (queue.rest?.length === 0) queue.rest = undefined;
    queue.current = item;
    this.#active++;
    let run: Promise<unknown>;
    try {
      run = this.#run(item, queue);
    } catch (error) {
      run = Promise.reject(error);
    }
    // One reaction per item (not `catch` then `finally`): this runs per job.
    run.then(
      () => this.#finish(queue, item),
      (error) => {
        try {
          this.#onError(error);
        } finally {
          this.#finish(queue, item);
        }
      },
    );
  }

  #finish(queue: KeyQueue<T>, item: T): void {
    this.#active--;
    this.#items--;
    if (this.#weigh) this.#weight -= this.#weigh(item);
    queue.current = undefined;
    if (queue.head !== undefined) this.#ready.push(queue);
    else this.#keys.delete(queue.key);
    this.#schedule();
    this.#notifyIdle();
    this.#onSettled(item);
  }

  #notifyIdle(): void {
    if (this.#items !== 0) return;
    for (const waiter of [...this.#idleWaiters]) waiter();
  }
}

function checkSize(size: number): number {
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`Invalid pool size: expected an integer >= 1, got ${size}`);
  }
  return size;
}
