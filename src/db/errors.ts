/**
 * Telling a database outage from a statement's own failure.
 *
 * @module
 */

/** postgres.js's own codes for a connection that went away or never came. */
const CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

/** Socket-level codes: the server is not there (or not reachable) right now. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * SQLSTATEs that mean the server cannot do any work for now: class 08
 * (connection exceptions), `57P01` admin shutdown (a restart ends pooled
 * connections), `57P02` crash shutdown, `57P03` cannot connect now (starting
 * up or shutting down), `53300` too many connections.
 */
const UNAVAILABLE_STATES = new Set(["57P01", "57P02", "57P03", "53300"]);

/**
 * True when `error` (or its cause) says PostgreSQL is unreachable or not
 * serving right now, rather than that a statement failed: a refused or lost
 * connection, a server restarting or shutting down, no free connection slot.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") {
      if (CONNECTION_CODES.has(code) || NETWORK_CODES.has(code)) return true;
      if (UNAVAILABLE_STATES.has(code) || code.startsWith("08")) return true;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
