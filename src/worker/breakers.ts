/**
 * Circuit breakers, one per dependency (PostgreSQL, the SMTP server, the
 * broker): how the worker tells an outage from a job's own failure.
 *
 * A breaker is **closed** while its dependency works. A few outage failures
 * in a row ({@linkcode BreakerOptions.failureThreshold}) **open** it: jobs
 * that need the dependency are held (they give their pool slot back and use
 * no attempt) instead of failing one after the other. After a pause, which
 * doubles up to {@linkcode BreakerOptions.probeIntervalMaxMs} while the
 * outage lasts, the breaker is **half open**: exactly one held job runs as a
 * probe. Its success (or any job's success) closes the breaker and releases
 * every held job; an outage failure opens it again.
 *
 * Which job types need which dependency is learned: a job type is known to
 * need a dependency once one of its jobs failed with that dependency's
 * {@linkcode DependencyUnavailableError}. Until then its jobs are not held.
 *
 * @module
 */

/** The state of one dependency's breaker. */
export type BreakerState = "closed" | "open" | "half_open";

/** Options of {@linkcode DependencyBreakers}. */
export interface BreakerOptions {
  /** Outage failures in a row that open a breaker. @default 3 */
  failureThreshold?: number;
  /** The first pause before a probe; doubles per failed probe. @default 500 */
  probeIntervalMinMs?: number;
  /** The longest pause between probes. @default 2000 */
  probeIntervalMaxMs?: number;
  /** Told of every change of state. */
  onChange?: (change: BreakerChange) => void;
}

/** A breaker that changed state. */
export interface BreakerChange {
  /** The dependency, e.g. `postgres`. */
  dependency: string;
  /** The new state. */
  state: BreakerState;
  /** How long the outage lasted, when the breaker closes. */
  downtimeMs?: number;
  /** The failure that opened the breaker. */
  error?: unknown;
}

/** What a held job got from {@linkcode DependencyBreakers.admit}. */
export interface Admission {
  /** The dependency this job probes (it must report its result), if any. */
  probe: string | undefined;
}

/** How a failure counts, as {@linkcode DependencyBreakers.failed} decides. */
export type FailureCount =
  /** The dependency is down for everyone: no attempt is used. */
  | "outage"
  /** The dependency works for other jobs: this failure is the job's own. */
  | "isolated";

interface Breaker {
  readonly dependency: string;
  state: BreakerState;
  failures: number;
  openedAt: number;
  intervalMs: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  probing: boolean;
  /** Held jobs, woken to check the state again. */
  readonly waiters: Set<() => void>;
}

const FREE: Admission = { probe: undefined };

/** The breakers of every dependency the worker's jobs use. */
export class DependencyBreakers {
  readonly #breakers = new Map<string, Breaker>();
  readonly #needs = new Map<string, string[]>();
  readonly #threshold: number;
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #onChange: (change: BreakerChange) => void;

  /** Breakers with the given tuning; every breaker starts closed. */
  constructor(options: BreakerOptions = {}) {
    this.#threshold = options.failureThreshold ?? 3;
    this.#minMs = options.probeIntervalMinMs ?? 500;
    this.#maxMs = Math.max(this.#minMs, options.probeIntervalMaxMs ?? 2_000);
    this.#onChange = options.onChange ?? (() => {});
  }

  /** The dependencies learned for `type` so far. */
  dependenciesOf(type: string): readonly string[] {
    return this.#needs.get(type) ?? [];
  }

  /** Every dependency seen, with its breaker's state. */
  states(): { dependency: string; state: BreakerState; since: number }[] {
    return [...this.#breakers.values()].map((b) => ({
      dependency: b.dependency,
      state: b.state,
      since: b.openedAt,
    }));
  }

  /** Dependencies whose breaker is not closed. */
  unavailable(): string[] {
    return [...this.#breakers.values()].filter((b) => b.state !== "closed").map((b) =>
      b.dependency
    );
  }

  /**
   * Lets a job of `type` run: at once (undefined, the common case) when every
   * dependency it needs is closed, else a promise that resolves once it may
   * run (as the probe of a half-open breaker, or after the breaker closed) or
   * rejects with `signal`'s reason.
   */
  admit(type: string, signal: AbortSignal): Promise<Admission> | undefined {
    const needs = this.#needs.get(type);
    if (!needs) return undefined;
    let blocked = false;
    for (const dependency of needs) {
      if (this.#breaker(dependency).state !== "closed") blocked = true;
    }
    return blocked ? this.#hold(needs, signal) : undefined;
  }

  /** A job of `type` succeeded: its dependencies work. */
  succeeded(type: string, admission: Admission | undefined): void {
    for (const dependency of this.#needs.get(type) ?? []) this.#works(dependency);
    if (admission?.probe) this.#breaker(admission.probe).probing = false;
  }

  /**
   * A job of `type` failed. A {@linkcode DependencyUnavailableError} of
   * `dependency` counts against its breaker and is an `outage` when the
   * breaker is (now) open; any other failure means the dependencies answered.
   */
  failed(
    type: string,
    failure: { dependency: string | undefined; error: unknown },
    admission: Admission | undefined,
  ): FailureCount {
    const { dependency, error } = failure;
    if (admission?.probe) this.#breaker(admission.probe).probing = false;
    if (dependency === undefined) {
      for (const needed of this.#needs.get(type) ?? []) this.#works(needed);
      return "isolated";
    }
    this.#learn(type, dependency);
    const breaker = this.#breaker(dependency);
    if (breaker.state === "closed") {
      if (++breaker.failures >= this.#threshold) this.#open(breaker, error);
    } else if (breaker.state === "half_open" && !breaker.probing) {
      this.#open(breaker, error);
    }
    return breaker.state === "closed" ? "isolated" : "outage";
  }

  /** A job admitted as a probe ended without a result (it was abandoned). */
  released(admission: Admission | undefined): void {
    if (!admission?.probe) return;
    const breaker = this.#breaker(admission.probe);
    breaker.probing = false;
    this.#wakeOne(breaker);
  }

  /** Stops every probe timer (the worker stops). */
  close(): void {
    for (const breaker of this.#breakers.values()) clearTimeout(breaker.timer);
  }

  async #hold(needs: readonly string[], signal: AbortSignal): Promise<Admission> {
    for (;;) {
      if (signal.aborted) {
        // A woken job that leaves passes the probe on to the next one.
        for (const dependency of needs) {
          const breaker = this.#breaker(dependency);
          if (breaker.state === "half_open" && !breaker.probing) this.#wakeOne(breaker);
        }
        throw signal.reason;
      }
      let waitFor: Breaker | undefined;
      let probe: Breaker | undefined;
      for (const dependency of needs) {
        const breaker = this.#breaker(dependency);
        if (breaker.state === "closed") continue;
        if (breaker.state === "half_open" && !breaker.probing && !probe) probe = breaker;
        else waitFor = breaker;
      }
      if (!waitFor) {
        if (!probe) return FREE;
        probe.probing = true;
        return { probe: probe.dependency };
      }
      await this.#wait(waitFor, signal);
    }
  }

  #wait(breaker: Breaker, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = () => {
        breaker.waiters.delete(wake);
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        breaker.waiters.delete(wake);
        reject(signal.reason);
      };
      breaker.waiters.add(wake);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  #learn(type: string, dependency: string): void {
    const needs = this.#needs.get(type);
    if (!needs) this.#needs.set(type, [dependency]);
    else if (!needs.includes(dependency)) needs.push(dependency);
  }

  #breaker(dependency: string): Breaker {
    let breaker = this.#breakers.get(dependency);
    if (!breaker) {
      breaker = {
        dependency,
        state: "closed",
        failures: 0,
        openedAt: 0,
        intervalMs: this.#minMs,
        timer: undefined,
        probing: false,
        waiters: new Set(),
      };
      this.#breakers.set(dependency, breaker);
    }
    return breaker;
  }

  #works(dependency: string): void {
    const breaker = this.#breakers.get(dependency);
    if (!breaker) return;
    breaker.failures = 0;
    if (breaker.state === "closed") return;
    clearTimeout(breaker.timer);
    breaker.timer = undefined;
    breaker.state = "closed";
    breaker.probing = false;
    breaker.intervalMs = this.#minMs;
    this.#onChange({ dependency, state: "closed", downtimeMs: Date.now() - breaker.openedAt });
    for (const wake of [...breaker.waiters]) wake();
  }

  #open(breaker: Breaker, error: unknown): void {
    const reopening = breaker.state !== "closed";
    if (!reopening) {
      breaker.openedAt = Date.now();
      breaker.intervalMs = this.#minMs;
    } else {
      breaker.intervalMs = Math.min(this.#maxMs, breaker.intervalMs * 2);
    }
    breaker.state = "open";
    breaker.probing = false;
    clearTimeout(breaker.timer);
    breaker.timer = setTimeout(() => this.#halfOpen(breaker), breaker.intervalMs);
    if (!reopening) this.#onChange({ dependency: breaker.dependency, state: "open", error });
  }

  #halfOpen(breaker: Breaker): void {
    breaker.timer = undefined;
    if (breaker.state !== "open") return;
    breaker.state = "half_open";
    this.#wakeOne(breaker);
  }

  #wakeOne(breaker: Breaker): void {
    const [first] = breaker.waiters;
    first?.();
  }
}
