/**
 * Tying a running query to an `AbortSignal`.
 *
 * @module
 */

/** A query of the `postgres` client that has not finished yet. */
export interface CancellableQuery<T> extends PromiseLike<T> {
  /** Asks the server to stop the query; the query then rejects. */
  cancel(): unknown;
}

/**
 * Awaits `query`, cancelling it on the server when `signal` aborts; the query
 * then rejects and a surrounding transaction rolls back.
 */
export async function abortableQuery<T>(
  query: CancellableQuery<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  if (!signal) return await query;
  signal.throwIfAborted();
  const onAbort = () => {
    query.cancel();
  };
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await query;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
