/**
 * One bridge per queue at a time: a Redis lock with a short lease that the
 * holder renews. A killed bridge's lock expires by itself after the lease,
 * so a re-run waits at most that long.
 *
 * @module
 */

import type { Redis } from "ioredis";
import { delay } from "../async/mod.ts";

/** A held lock. */
export interface BridgeLock {
  /** Aborted when the lock was lost (not renewed in time, or taken over). */
  readonly lost: AbortSignal;
  /** Stops renewing and releases the lock if still held. */
  release(): Promise<void>;
}

/** Options of {@linkcode acquireBridgeLock}. */
export interface AcquireLockOptions {
  /** The lock's key. */
  key: string;
  /** How long the lock lives without renewal. @default 10000 */
  leaseMs?: number;
  /** How long to wait for a lock held elsewhere. @default lease + 5000 */
  waitMs?: number;
  /** Told once when the lock is held elsewhere and the call waits. */
  onWait?: (expiresInMs: number) => void;
}

/** Renews only a lock that is still ours. */
const RENEW = `if redis.call("get", KEYS[1]) == ARGV[1] then
  return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then
  return redis.call("del", KEYS[1]) else return 0 end`;

/**
 * Takes the lock, waiting up to `waitMs` for a holder's lease to run out.
 *
 * @throws {Error} naming the key when the lock stays held elsewhere.
 */
export async function acquireBridgeLock(
  redis: Redis,
  options: AcquireLockOptions,
): Promise<BridgeLock> {
  const leaseMs = options.leaseMs ?? 10_000;
  const deadline = Date.now() + (options.waitMs ?? leaseMs + 5_000);
  const token = crypto.randomUUID();
  let told = false;
  while (await redis.set(options.key, token, "PX", leaseMs, "NX") !== "OK") {
    const ttl = await redis.pttl(options.key);
    if (Date.now() > deadline) {
      throw new Error(
        `Another bridge holds "${options.key}" (expires in ${ttl} ms): wait for it to finish`,
      );
    }
    if (!told) options.onWait?.(ttl);
    told = true;
    await delay(Math.min(500, Math.max(50, ttl)));
  }
  const lost = new AbortController();
  const timer = setInterval(async () => {
    try {
      const renewed = await redis.eval(RENEW, 1, options.key, token, String(leaseMs));
      if (renewed !== 1) lost.abort(new Error(`The bridge lost its lock "${options.key}"`));
    } catch {
      // Redis did not answer; the next renewal tries again within the lease.
    }
  }, Math.floor(leaseMs / 3));
  return {
    lost: lost.signal,
    async release() {
      clearInterval(timer);
      await redis.eval(RELEASE, 1, options.key, token).catch(() => {});
    },
  };
}
