/**
 * Waiting that an `AbortSignal` can cut short.
 *
 * @module
 */

/** Options of {@linkcode delay}. */
export interface DelayOptions {
  /** Stops the wait: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Resolves after `ms` milliseconds, or rejects with `options.signal`'s reason
 * as soon as it aborts (at once when it is aborted already). The timer is
 * cleared on abort, so an aborted wait keeps nothing alive.
 *
 * @example
 * ```ts
 * await delay(250, { signal: AbortSignal.timeout(1_000) });
 * ```
 */
export function delay(ms: number, options: DelayOptions = {}): Promise<void> {
  const { signal } = options;
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
