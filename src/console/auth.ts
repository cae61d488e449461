/**
 * Who may act: the console token (`CONSOLE_TOKEN`) and the sessions it
 * opens. A browser logs in once with the token and gets a session cookie
 * (HttpOnly, SameSite=Strict) plus a per-session CSRF token that every
 * action form carries; scripts send `Authorization: Bearer <token>` instead.
 * Sessions live in memory and end with the process.
 *
 * @module
 */

import { timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";

/** A logged-in browser. */
export interface Session {
  /** The cookie's value. */
  id: string;
  /** The token action forms must carry. */
  csrf: string;
  /** When it ends (epoch milliseconds). */
  expiresAt: number;
}

/** Options of {@linkcode ConsoleAuth}. */
export interface ConsoleAuthOptions {
  /** The console token; without it nobody may act. */
  token?: string | undefined;
  /** How long a session lasts. @default 8 hours */
  sessionTtlMs?: number;
  /** The clock. @default Date.now */
  now?: () => number;
}

/** The token check and the sessions. */
export class ConsoleAuth {
  readonly #token: Buffer | undefined;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #sessions = new Map<string, Session>();

  /** Checks against `options.token`, if any. */
  constructor(options: ConsoleAuthOptions) {
    this.#token = options.token === undefined ? undefined : Buffer.from(options.token, "utf8");
    this.#ttlMs = options.sessionTtlMs ?? 8 * 3_600_000;
    this.#now = options.now ?? Date.now;
  }

  /** Whether actions are possible at all (a token is configured). */
  get actionsEnabled(): boolean {
    return this.#token !== undefined;
  }

  /** Whether `candidate` is the token, compared in constant time. */
  checkToken(candidate: string | undefined): boolean {
    if (this.#token === undefined || candidate === undefined) return false;
    const given = Buffer.from(candidate, "utf8");
    // timingSafeEqual needs equal lengths; compare against itself to spend the same time.
    if (given.length !== this.#token.length) {
      timingSafeEqual(this.#token, this.#token);
      return false;
    }
    return timingSafeEqual(given, this.#token);
  }

  /** Opens a session for a browser that presented the token. */
  openSession(): Session {
    this.#prune();
    const session = {
      id: randomToken(),
      csrf: randomToken(),
      expiresAt: this.#now() + this.#ttlMs,
    };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session with cookie value `id`, if any. */
  session(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    if (session.expiresAt <= this.#now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    return session;
  }

  /** Whether `csrf` is the session's CSRF token, compared in constant time. */
  checkCsrf(session: Session, csrf: string | undefined): boolean {
    if (csrf === undefined || csrf.length !== session.csrf.length) return false;
    return timingSafeEqual(Buffer.from(csrf), Buffer.from(session.csrf));
  }

  /** Ends a session (log out). */
  closeSession(id: string): void {
    this.#sessions.delete(id);
  }

  #prune(): void {
    const now = this.#now();
    for (const [id, session] of this.#sessions) {
      if (session.expiresAt <= now) this.#sessions.delete(id);
    }
  }
}

function randomToken(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
}
