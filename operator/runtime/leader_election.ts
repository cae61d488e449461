/**
 * Leader election on a `coordination.k8s.io/v1` Lease, the client-go way: a
 * candidate takes the Lease when it is free or when its holder has not renewed
 * it for `leaseDuration` (measured on the candidate's own clock from when it
 * last saw the record change, so clock skew between replicas does not matter),
 * renews it every `retryPeriod`, gives up leadership when it cannot renew
 * within `renewDeadline`, and releases it on shutdown so that a successor need
 * not wait. The Lease is reached through a {@linkcode LeaseStore}
 * (`kube_lease_store.ts` keeps it in the API server).
 *
 * @module
 */

import { logger } from "../../src/observability/logging.ts";
import { type Clock, sleep, systemClock } from "./clock.ts";

/** The fields of a Lease's spec that election uses. */
export interface LeaseRecord {
  /** The leader's identity; empty when released. */
  holderIdentity: string;
  /** How long the Lease holds without renewal. */
  leaseDurationSeconds: number;
  /** When the holder took it (RFC 3339 with microseconds). */
  acquireTime: string;
  /** When the holder last renewed it. */
  renewTime: string;
  /** How often the holder changed. */
  leaseTransitions: number;
}

/** A stored Lease: the record plus the version for optimistic concurrency. */
export interface StoredLease {
  /** The Lease's spec. */
  record: LeaseRecord;
  /** Its version, for conditional updates. */
  resourceVersion: string;
}

/** Where the Lease lives; both writes fail with {@linkcode LeaseConflictError} when someone else wrote first. */
export interface LeaseStore {
  /** The Lease, or `undefined` when none exists. */
  get(signal?: AbortSignal): Promise<StoredLease | undefined>;
  /** Creates the Lease. */
  create(record: LeaseRecord, signal?: AbortSignal): Promise<StoredLease>;
  /** Replaces the Lease if it is still at `resourceVersion`. */
  update(
    record: LeaseRecord,
    resourceVersion: string,
    signal?: AbortSignal,
  ): Promise<StoredLease>;
}

/** Another candidate changed the Lease between our read and write. */
export class LeaseConflictError extends Error {
  /** `message` is the API server's. */
  constructor(message: string) {
    super(message);
    this.name = "LeaseConflictError";
  }
}

/** Timing of {@linkcode LeaderElector}, as in client-go. */
export interface LeaderElectionTiming {
  /** How long a non-renewed Lease stays with its holder. @default 15000 */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it steps down. @default 10000 */
  renewDeadlineMs?: number;
  /** Time between attempts to acquire or renew. @default 2000 */
  retryPeriodMs?: number;
}

/** Options of {@linkcode LeaderElector}. */
export interface LeaderElectorOptions extends LeaderElectionTiming {
  /** Where the Lease is kept. */
  store: LeaseStore;
  /** This candidate's unique identity (e.g. pod name + random suffix). */
  identity: string;
  /** Time source; default the system clock. */
  clock?: Clock;
}

const log = logger("operator", "leader-election");

/** Formats a time as a Kubernetes MicroTime (`2006-01-02T15:04:05.000000Z`). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Runs one candidate's side of the election. */
export class LeaderElector {
  readonly #store: LeaseStore;
  readonly #identity: string;
  readonly #clock: Clock;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  #observed: StoredLease | undefined;
  #observedAt = 0;
  #leading = false;

  /**
   * A candidate; nothing happens until {@linkcode LeaderElector.run}.
   *
   * @throws {RangeError} unless leaseDuration > renewDeadline > retryPeriod > 0.
   */
  constructor(options: LeaderElectorOptions) {
    this.#store = options.store;
    this.#identity = options.identity;
    this.#clock = options.clock ?? systemClock;
    this.#leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.#retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (
      this.#leaseDurationMs <= this.#renewDeadlineMs ||
      this.#renewDeadlineMs <= this.#retryPeriodMs || this.#retryPeriodMs <= 0
    ) {
      throw new RangeError(
        "Invalid leader election timing: need leaseDuration > renewDeadline > retryPeriod > 0, got " +
          `${this.#leaseDurationMs} ms, ${this.#renewDeadlineMs} ms, ${this.#retryPeriodMs} ms`,
      );
    }
  }

  /** This candidate's identity. */
  get identity(): string {
    return this.#identity;
  }

  /** Whether this candidate currently holds the Lease. */
  get isLeader(): boolean {
    return this.#leading;
  }

  /** The holder this candidate last saw, if any. */
  get observedHolder(): string | undefined {
    return this.#observed?.record.holderIdentity || undefined;
  }

  /**
   * One attempt to acquire or renew; `true` when this candidate holds the
   * Lease afterwards. Store errors other than conflicts propagate.
   */
  async tryAcquireOrRenew(signal?: AbortSignal): Promise<boolean> {
    const current = await this.#store.get(signal);
    // Read after the GET: a slow read must not make the holder's record look older than it is.
    const now = this.#clock.now();
    const record: LeaseRecord = {
      holderIdentity: this.#identity,
      leaseDurationSeconds: Math.ceil(this.#leaseDurationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    try {
      if (!current) {
        this.#remember(await this.#store.create(record, signal));
        return true;
      }
      if (!sameRecord(this.#observed?.record, current.record)) {
        this.#observed = current;
        this.#observedAt = now;
      } else {
        this.#observed = current;
      }
      const holder = current.record.holderIdentity;
      const heldByOther = holder !== "" && holder !== this.#identity;
      const durationMs = current.record.leaseDurationSeconds * 1000;
      if (heldByOther && this.#observedAt + durationMs > now) return false;
      if (holder === this.#identity) {
        record.acquireTime = current.record.acquireTime;
        record.leaseTransitions = current.record.leaseTransitions;
      } else {
        record.leaseTransitions = current.record.leaseTransitions + 1;
      }
      this.#remember(await this.#store.update(record, current.resourceVersion, signal));
      return true;
    } catch (error) {
      if (error instanceof LeaseConflictError) return false;
      throw error;
    }
  }

  /**
   * Waits until this candidate leads, then calls `onStartedLeading` with a
   * signal that aborts when leadership is lost or `signal` aborts; keeps
   * renewing meanwhile. Returns when leadership ends (then it has been
   * released if `signal` aborted).
   */
  async run(
    signal: AbortSignal,
    callbacks: { onStartedLeading: (leading: AbortSignal) => void; onStoppedLeading?: () => void },
  ): Promise<void> {
    let lastRenew = 0;
    while (!signal.aborted) {
      const started = this.#clock.now();
      if (await this.#attempt(signal, this.#renewDeadlineMs)) {
        lastRenew = started;
        break;
      }
      await sleep(this.#clock, jitter(this.#retryPeriodMs), signal).catch(() => {});
    }
    if (signal.aborted) return;
    this.#leading = true;
    log.info("{identity} became the leader", { identity: this.#identity });
    const leading = new AbortController();
    callbacks.onStartedLeading(leading.signal);
    while (!signal.aborted) {
      await sleep(this.#clock, this.#retryPeriodMs, signal).catch(() => {});
      if (signal.aborted) break;
      // Renewal must succeed within the renew deadline, counted from the start of
      // the last successful attempt, which is never later than the write the other
      // candidates saw; a hung request is cut off there, well before the Lease expires.
      const started = this.#clock.now();
      const remaining = this.#renewDeadlineMs - (started - lastRenew);
      if (remaining > 0 && await this.#attempt(signal, remaining)) {
        lastRenew = started;
        continue;
      }
      if (this.#clock.now() - lastRenew >= this.#renewDeadlineMs) {
        log.warn("{identity} could not renew the lease within the renew deadline; stepping down", {
          identity: this.#identity,
        });
        break;
      }
    }
    this.#leading = false;
    leading.abort(new Error("leadership lost"));
    if (signal.aborted) await this.release();
    callbacks.onStoppedLeading?.();
  }

  /** Gives the Lease up (when held) so that another candidate can take it at once. */
  async release(): Promise<void> {
    try {
      const current = await this.#store.get();
      if (!current || current.record.holderIdentity !== this.#identity) return;
      const now = microTime(this.#clock.now());
      await this.#store.update(
        { ...current.record, holderIdentity: "", leaseDurationSeconds: 1, renewTime: now },
        current.resourceVersion,
      );
      log.info("{identity} released the lease", { identity: this.#identity });
    } catch (error) {
      log.warn("Releasing the lease failed: {error}", { error: String(error) });
    }
  }

  /** One attempt, abandoned after `timeoutMs` (on this candidate's clock) or when `signal` aborts. */
  async #attempt(signal: AbortSignal, timeoutMs: number): Promise<boolean> {
    const deadline = new AbortController();
    const cancelTimer = this.#clock.setTimer(
      () =>
        deadline.abort(
          new DOMException("Lease request exceeded the renew deadline", "TimeoutError"),
        ),
      timeoutMs,
    );
    const attempt = AbortSignal.any([signal, deadline.signal]);
    try {
      return await untilAborted(this.tryAcquireOrRenew(attempt), attempt);
    } catch (error) {
      if (!signal.aborted) {
        log.warn("Acquiring or renewing the lease failed: {error}", {
          error: error instanceof Error ? error.message : String(error),
        });
      }
      return false;
    } finally {
      cancelTimer();
    }
  }

  #remember(stored: StoredLease): void {
    this.#observed = stored;
    this.#observedAt = this.#clock.now();
  }
}

function sameRecord(a: LeaseRecord | undefined, b: LeaseRecord): boolean {
  return !!a && a.holderIdentity === b.holderIdentity && a.renewTime === b.renewTime &&
    a.leaseTransitions === b.leaseTransitions;
}

/** `promise`, or a rejection with the signal's reason as soon as `signal` aborts (a request that ignores it). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function jitter(ms: number): number {
  return ms * (1 + Math.random() * 0.2);
}
