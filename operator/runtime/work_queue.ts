/**
 * A controller work queue: keys (`namespace/name`) wait in order, a key is
 * queued at most once, a key being processed is never handed out twice (it is
 * queued again once done if it was added meanwhile), failing keys come back
 * after an exponential backoff and delayed adds keep only the earliest time.
 *
 * @module
 */

import { type Clock, systemClock } from "./clock.ts";

/** Options of {@linkcode WorkQueue}. */
export interface WorkQueueOptions {
  /** Time source; default the system clock. */
  clock?: Clock;
  /** First backoff after a failure. @default 200 */
  baseBackoffMs?: number;
  /** Longest backoff. @default 300000 (5 minutes) */
  maxBackoffMs?: number;
}

/** The queue of keys to reconcile. */
export class WorkQueue {
  readonly #clock: Clock;
  readonly #baseBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #queue: string[] = [];
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #delayed = new Map<string, { at: number; cancel: () => void }>();
  readonly #failures = new Map<string, number>();
  #waiters: Array<(key: string | undefined) => void> = [];
  #shutDown = false;

  /** An empty queue. */
  constructor(options: WorkQueueOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#baseBackoffMs = options.baseBackoffMs ?? 200;
    this.#maxBackoffMs = options.maxBackoffMs ?? 300_000;
    if (this.#baseBackoffMs <= 0 || this.#maxBackoffMs < this.#baseBackoffMs) {
      throw new RangeError(
        `Invalid work queue backoff: base ${this.#baseBackoffMs} ms must be > 0 and <= max ${this.#maxBackoffMs} ms`,
      );
    }
  }

  /** Keys waiting to be handed out (not counting delayed or in-process ones). */
  get length(): number {
    return this.#queue.length;
  }

  /** Keys waiting for a delay to pass. */
  get delayedCount(): number {
    return this.#delayed.size;
  }

  /** Whether {@linkcode WorkQueue.shutDown} was called. */
  get isShutDown(): boolean {
    return this.#shutDown;
  }

  /** Queues `key` now unless it is already queued. */
  add(key: string): void {
    if (this.#shutDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#push(key);
  }

  /** Queues `key` after `delayMs`; an earlier pending delay for the key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shutDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = this.#clock.now() + delayMs;
    const existing = this.#delayed.get(key);
    if (existing && existing.at <= at) return;
    existing?.cancel();
    const cancel = this.#clock.setTimer(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.#delayed.set(key, { at, cancel });
  }

  /** Queues `key` after its next backoff step; returns that delay. */
  addRateLimited(key: string): number {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    const delay = this.backoffFor(failures);
    this.addAfter(key, delay);
    return delay;
  }

  /** The backoff after `failures` consecutive failures. */
  backoffFor(failures: number): number {
    const exp = this.#baseBackoffMs * 2 ** Math.max(0, failures - 1);
    return Math.min(this.#maxBackoffMs, exp);
  }

  /** Consecutive failures recorded for `key`. */
  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Clears the failure count of `key` (after a success or when it is gone). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /**
   * The next key, marked as processing until {@linkcode WorkQueue.done}; waits
   * when empty. Resolves `undefined` once shut down or when `signal` aborts.
   */
  get(signal?: AbortSignal): Promise<string | undefined> {
    const key = this.#take();
    if (key !== undefined || this.#shutDown) return Promise.resolve(key);
    if (signal?.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter = (k: string | undefined) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(k);
      };
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(undefined);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Marks `key` as processed; re-queues it when it was added meanwhile. */
  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key) && !this.#shutDown) this.#push(key);
  }

  /** Stops handing out keys; waiting getters resolve `undefined`; timers are cancelled. */
  shutDown(): void {
    this.#shutDown = true;
    for (const { cancel } of this.#delayed.values()) cancel();
    this.#delayed.clear();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter(undefined);
  }

  #push(key: string): void {
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      waiter(key);
      return;
    }
    this.#queue.push(key);
  }

  #take(): string | undefined {
    if (this.#shutDown) return undefined;
    const key = this.#queue.shift();
    if (key === undefined) return undefined;
    this.#dirty.delete(key);
    this.#processing.add(key);
    return key;
  }
}
