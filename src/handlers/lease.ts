/**
 * Short leases on claims, renewed while the work runs. A claim (an email
 * being sent, a reward being delivered) is held for `leaseMs` and renewed
 * every third of it while its holder works; when the holder dies, nobody
 * renews it and another worker may take it over at most `leaseMs` later —
 * seconds, not the job's whole deadline.
 *
 * When renewing fails (the database is away) or finds the claim taken over,
 * the holder's `lost` signal aborts before the lease can run out, so the
 * holder stops rather than work on under a claim that someone else may take.
 *
 * @module
 */

/** Options of {@linkcode keepLease}. */
export interface KeepLeaseOptions {
  /** How long one renewal holds the claim. */
  leaseMs: number;
  /** Extends the claim by `leaseMs`; false when the claim is no longer this holder's. */
  renew: () => Promise<boolean>;
}

/** A lease being kept. */
export interface Lease {
  /** Aborts when the lease is lost (taken over, or not renewed in time). */
  readonly lost: AbortSignal;
  /** Stops renewing (the claim was recorded or released). */
  release(): void;
}

/** Starts renewing a claim just taken (its first `leaseMs` run from now). */
export function keepLease(options: KeepLeaseOptions): Lease {
  const { leaseMs, renew } = options;
  const lost = new AbortController();
  let renewedAt = Date.now();
  let released = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = () => {
    timer = setTimeout(tick, Math.max(50, leaseMs / 3));
  };
  const tick = async () => {
    if (released) return;
    const started = Date.now();
    try {
      if (await renew()) renewedAt = started;
      else return lost.abort(new LeaseLostError("the claim was taken over by another worker"));
    } catch {
      // The database may be away for a moment: try again before the lease ends.
    }
    if (released) return;
    // Stop a sixth of the lease before it runs out, so no one else holds it too.
    if (Date.now() >= renewedAt + leaseMs - leaseMs / 6) {
      return lost.abort(new LeaseLostError("the claim could not be renewed in time"));
    }
    schedule();
  };
  schedule();
  return {
    lost: lost.signal,
    release() {
      released = true;
      clearTimeout(timer);
    },
  };
}

/** A holder lost its claim's lease. */
export class LeaseLostError extends Error {
  /** The lease was lost because `reason`. */
  constructor(reason: string) {
    super(`Lease lost: ${reason}`);
    this.name = "LeaseLostError";
  }
}
