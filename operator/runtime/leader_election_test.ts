import assert from "node:assert/strict";
import { FakeClock } from "./clock.ts";
import {
  LeaderElector,
  LeaseConflictError,
  type LeaseRecord,
  type LeaseStore,
  microTime,
  type StoredLease,
} from "./leader_election.ts";

class MemoryLeaseStore implements LeaseStore {
  lease: StoredLease | undefined;
  #version = 0;
  failing = false;

  get(): Promise<StoredLease | undefined> {
    if (this.failing) return Promise.reject(new Error("API server unreachable"));
    return Promise.resolve(this.lease && structuredClone(this.lease));
  }
  create(record: LeaseRecord): Promise<StoredLease> {
    if (this.failing) return Promise.reject(new Error("API server unreachable"));
    if (this.lease) return Promise.reject(new LeaseConflictError("exists"));
    this.lease = { record: { ...record }, resourceVersion: String(++this.#version) };
    return Promise.resolve(structuredClone(this.lease));
  }
  update(record: LeaseRecord, resourceVersion: string): Promise<StoredLease> {
    if (this.failing) return Promise.reject(new Error("API server unreachable"));
    if (this.lease?.resourceVersion !== resourceVersion) {
      return Promise.reject(new LeaseConflictError("stale"));
    }
    this.lease = { record: { ...record }, resourceVersion: String(++this.#version) };
    return Promise.resolve(structuredClone(this.lease));
  }
}

function holder(store: MemoryLeaseStore): string | undefined {
  return store.lease?.record.holderIdentity;
}

const timing = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

Deno.test("microTime formats Kubernetes MicroTime", () => {
  assert.equal(microTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), "2026-01-02T03:04:05.678000Z");
});

Deno.test("LeaderElector: the first candidate takes a free lease, the second waits", async () => {
  const clock = new FakeClock();
  const store = new MemoryLeaseStore();
  const a = new LeaderElector({ store, identity: "a", clock, ...timing });
  const b = new LeaderElector({ store, identity: "b", clock, ...timing });
  assert.equal(await a.tryAcquireOrRenew(), true);
  assert.equal(await b.tryAcquireOrRenew(), false);
  assert.equal(b.observedHolder, "a");
  assert.equal(store.lease?.record.holderIdentity, "a");
  assert.equal(store.lease?.record.leaseDurationSeconds, 15);
});

Deno.test("LeaderElector: a lease not renewed for its duration passes to another candidate", async () => {
  const clock = new FakeClock();
  const store = new MemoryLeaseStore();
  const a = new LeaderElector({ store, identity: "a", clock, ...timing });
  const b = new LeaderElector({ store, identity: "b", clock, ...timing });
  await a.tryAcquireOrRenew();
  assert.equal(await b.tryAcquireOrRenew(), false);
  await clock.advance(10_000);
  assert.equal(await a.tryAcquireOrRenew(), true, "a renews");
  await clock.advance(10_000);
  assert.equal(await b.tryAcquireOrRenew(), false, "b saw a renew 10 s ago");
  await clock.advance(14_999);
  assert.equal(await b.tryAcquireOrRenew(), false);
  await clock.advance(1);
  assert.equal(await b.tryAcquireOrRenew(), true, "a stopped renewing 15 s ago");
  assert.equal(store.lease?.record.holderIdentity, "b");
  assert.equal(store.lease?.record.leaseTransitions, 1);
  assert.equal(await a.tryAcquireOrRenew(), false, "a lost it");
});

Deno.test("LeaderElector: renewing keeps acquireTime and transitions", async () => {
  const clock = new FakeClock();
  const store = new MemoryLeaseStore();
  const a = new LeaderElector({ store, identity: "a", clock, ...timing });
  await a.tryAcquireOrRenew();
  const acquired = store.lease!.record.acquireTime;
  await clock.advance(2_000);
  await a.tryAcquireOrRenew();
  assert.equal(store.lease!.record.acquireTime, acquired);
  assert.notEqual(store.lease!.record.renewTime, acquired);
  assert.equal(store.lease!.record.leaseTransitions, 0);
});

Deno.test("LeaderElector.run: leads, steps down after the renew deadline, releases on stop", async () => {
  const clock = new FakeClock();
  const store = new MemoryLeaseStore();
  const a = new LeaderElector({ store, identity: "a", clock, ...timing });
  const stop = new AbortController();
  let leading: AbortSignal | undefined;
  let stopped = false;
  const running = a.run(stop.signal, {
    onStartedLeading: (signal) => leading = signal,
    onStoppedLeading: () => stopped = true,
  });
  await clock.advance(0);
  assert.ok(leading && !leading.aborted);
  assert.equal(a.isLeader, true);
  store.failing = true;
  await clock.advance(8_000);
  assert.equal(leading.aborted, false, "still within the renew deadline");
  await clock.advance(4_000);
  await running;
  assert.equal(leading.aborted, true);
  assert.equal(a.isLeader, false);
  assert.equal(stopped, true);

  // A fresh run that is stopped releases the lease.
  store.failing = false;
  store.lease = undefined;
  const stop2 = new AbortController();
  const b = new LeaderElector({ store, identity: "b", clock, ...timing });
  const running2 = b.run(stop2.signal, { onStartedLeading: () => {} });
  await clock.advance(0);
  assert.equal(holder(store), "b");
  stop2.abort();
  await clock.advance(0);
  await running2;
  assert.equal(holder(store), "");
  const c = new LeaderElector({ store, identity: "c", clock, ...timing });
  assert.equal(await c.tryAcquireOrRenew(), true, "a released lease is free at once");
});

Deno.test("LeaderElector rejects inconsistent timing", () => {
  const store = new MemoryLeaseStore();
  assert.throws(
    () =>
      new LeaderElector({
        store,
        identity: "x",
        leaseDurationMs: 5_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2_000,
      }),
    RangeError,
  );
});

/** A view of a shared store whose requests can hang (never answer, ignoring the signal). */
class HangingView implements LeaseStore {
  hanging = false;
  constructor(readonly store: MemoryLeaseStore) {}
  #maybeHang<T>(call: () => Promise<T>): Promise<T> {
    return this.hanging ? new Promise<T>(() => {}) : call();
  }
  get(): Promise<StoredLease | undefined> {
    return this.#maybeHang(() => this.store.get());
  }
  create(record: LeaseRecord): Promise<StoredLease> {
    return this.#maybeHang(() => this.store.create(record));
  }
  update(record: LeaseRecord, resourceVersion: string): Promise<StoredLease> {
    return this.#maybeHang(() => this.store.update(record, resourceVersion));
  }
}

Deno.test("LeaderElector.run: a leader whose API hangs stops leading before a standby takes over", async () => {
  const clock = new FakeClock();
  const store = new MemoryLeaseStore();
  const view = new HangingView(store);
  const a = new LeaderElector({ store: view, identity: "a", clock, ...timing });
  const b = new LeaderElector({ store, identity: "b", clock, ...timing });
  const stopA = new AbortController();
  const stopB = new AbortController();
  let aLeading: AbortSignal | undefined;
  let aStillLeadingWhenBStarted: boolean | undefined;
  const runningA = a.run(stopA.signal, { onStartedLeading: (signal) => aLeading = signal });
  await clock.advance(0);
  assert.equal(holder(store), "a");
  const runningB = b.run(stopB.signal, {
    onStartedLeading: () => aStillLeadingWhenBStarted = a.isLeader || !aLeading?.aborted,
  });
  await clock.advance(3_000);
  view.hanging = true;
  for (let i = 0; i < 40 && aStillLeadingWhenBStarted === undefined; i++) {
    await clock.advance(1_000);
  }
  assert.equal(aStillLeadingWhenBStarted, false, "b took over, and a had stopped leading first");
  assert.equal(holder(store), "b");
  stopA.abort();
  stopB.abort();
  await clock.advance(0);
  await Promise.all([runningA, runningB]);
});

Deno.test("LeaderElector: a slow read counts the holder's record as seen when the read returned", async () => {
  const clock = new FakeClock();
  const store = new MemoryLeaseStore();
  const a = new LeaderElector({ store, identity: "a", clock, ...timing });
  await a.tryAcquireOrRenew();
  let slow = true;
  const view: LeaseStore = {
    get: () => {
      const value = store.get();
      return slow ? new Promise((resolve) => clock.setTimer(() => resolve(value), 5_000)) : value;
    },
    create: (record) => store.create(record),
    update: (record, version) => store.update(record, version),
  };
  const b = new LeaderElector({ store: view, identity: "b", clock, ...timing });
  const first = b.tryAcquireOrRenew();
  await clock.advance(5_000);
  assert.equal(await first, false);
  slow = false;
  await clock.advance(14_999);
  assert.equal(await b.tryAcquireOrRenew(), false, "15 s have not passed since b saw a's record");
  await clock.advance(1);
  assert.equal(await b.tryAcquireOrRenew(), true);
});
