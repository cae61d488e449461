/**
 * The console's HTTP routes (hono): pages, the live Overview fragment, JSON
 * for scripts, static files, logging in and the replay actions.
 *
 * Every page is readable without logging in. Actions (replays) need the
 * console token: a session opened by logging in with it, plus the session's
 * CSRF token in the form, or `Authorization: Bearer <token>`. Cross-site
 * form posts are refused before that by their `Origin` (hono's `csrf`), and
 * the session cookie is `SameSite=Strict` and `HttpOnly`. Every action, done
 * or refused, is logged.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { csrf } from "hono/csrf";
import { getConnInfo } from "hono/deno";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { delay } from "../async/mod.ts";
import { type DeadLetter, parsePosition } from "../cli/dead_letters.ts";
import { logger } from "../observability/logging.ts";
import type { Asset } from "./assets.ts";
import type { ConsoleAuth } from "./auth.ts";
import {
  filterChoices,
  matchesFilter,
  parseDeadLetterFilter,
  parsePositions,
} from "./dead_letters/filter.ts";
import type { DeadLetterStore } from "./dead_letters/store.ts";
import { InputError } from "./input_error.ts";
import { type JobReport, parseJobId } from "./jobs/lookup.ts";
import {
  deadLetterListPage,
  deadLetterPage,
  replayConfirmPage,
  replayDonePage,
} from "./pages/dead_letters_page.ts";
import { jobPage } from "./pages/job_page.ts";
import { loginPage, messagePage, type ViewContext } from "./pages/layout.ts";
import { type OverviewData, overviewLive, overviewPage } from "./pages/overview_page.ts";
import { poolsPage } from "./pages/pools_page.ts";
import type { PoolView } from "./pools.ts";

const audit = logger("console", "audit");
const log = logger("console", "http");

/** The session cookie's name. */
export const SESSION_COOKIE = "jobpool_console_session";

/** What the routes read and act on. */
export interface ConsoleServices {
  /** The token and sessions. */
  auth: ConsoleAuth;
  /** The Overview's data, as of now. */
  overview(): OverviewData;
  /** The dead-letter topic. */
  deadLetters: Pick<DeadLetterStore, "topic" | "list" | "find" | "replay" | "replayOf">;
  /** The job topic (where replays go). */
  jobTopic: string;
  /** What is known of one job. */
  lookUpJob(id: string): Promise<JobReport>;
  /** The cluster's pools; undefined without a kubeconfig. */
  listPools?: () => Promise<PoolView[]>;
  /** Files under `/static/`. */
  assets: ReadonlyMap<string, Asset>;
}

/** Rows the dead-letter list shows at most. */
const LIST_LIMIT = 500;

/** The console's routes. */
export function createConsoleApp(services: ConsoleServices): Hono {
  const { auth } = services;
  const app = new Hono();

  app.use(secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", "data:"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      objectSrc: ["'none'"],
    },
    strictTransportSecurity: false,
  }));
  // Refuses form posts whose Origin is another site (CSRF), before any route runs.
  // A bearer token is never sent by a browser on its own, so such requests need no check.
  const sameOrigin = csrf();
  app.use((c, next) => c.req.header("authorization") ? next() : sameOrigin(c, next));

  const view = (c: Context): ViewContext => {
    const session = auth.session(getCookie(c, SESSION_COOKIE));
    const url = new URL(c.req.url);
    return {
      actionsEnabled: auth.actionsEnabled,
      path: `${url.pathname}${url.search}`,
      ...(session ? { csrf: session.csrf } : {}),
    };
  };

  app.onError((error, c) => {
    if (error instanceof HTTPException && error.status === 403) {
      audit.warn("Refused {method} {path} from {remote}: not from this console's pages", {
        outcome: "refused",
        method: c.req.method,
        path: new URL(c.req.url).pathname,
        remote: remoteAddress(c),
      });
      return c.html(
        messagePage({ title: "Refused", message: CROSS_SITE, view: view(c), back: "/" }),
        403,
      );
    }
    if (error instanceof InputError) {
      return c.html(
        messagePage({ title: "Bad input", message: error.message, view: view(c), back: "/" }),
        400,
      );
    }
    log.error("{method} {path} failed: {error}", {
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      error: describe(error),
    });
    return c.html(
      messagePage({
        title: "Something failed",
        message: describe(error),
        view: view(c),
        back: "/",
      }),
      500,
    );
  });

  app.get("/healthz", (c) => c.text("ok"));

  app.get("/static/:name", (c) => {
    const asset = services.assets.get(c.req.param("name"));
    if (!asset) return c.notFound();
    if (c.req.header("if-none-match") === asset.etag) return c.body(null, 304);
    return c.body(asset.body, 200, {
      "content-type": asset.type,
      etag: asset.etag,
      "cache-control": "no-cache",
    });
  });

  app.get("/", (c) => c.html(overviewPage(services.overview(), view(c))));
  app.get("/overview/live", (c) => c.html(overviewLive(services.overview())));
  app.get("/api/overview", (c) => c.json(services.overview()));

  app.get("/dead-letters", async (c) => {
    const filter = parseDeadLetterFilter(new URL(c.req.url).searchParams);
    const all = await services.deadLetters.list();
    const letters = all.filter((letter) => matchesFilter(letter, filter)).reverse();
    return c.html(deadLetterListPage({
      topic: services.deadLetters.topic,
      filter,
      choices: filterChoices(all),
      letters,
      total: all.length,
      limit: LIST_LIMIT,
      replays: (letter) => services.deadLetters.replayOf(letter),
    }, view(c)));
  });

  app.get("/dead-letters/:position", async (c) => {
    const position = parsePosition(c.req.param("position"));
    if (!position) {
      throw new InputError("position", "must be partition:offset such as 0:42");
    }
    const { found } = await services.deadLetters.find([position]);
    const letter = found[0];
    if (!letter) {
      return c.html(
        messagePage({
          title: "No such dead letter",
          message: `No dead letter at ${c.req.param("position")} in ${services.deadLetters.topic}`,
          view: view(c),
          back: "/dead-letters",
        }),
        404,
      );
    }
    return c.html(deadLetterPage(letter, services.deadLetters.replayOf(letter), view(c)));
  });

  app.post("/dead-letters/replay/confirm", async (c) => {
    const actor = await authorize(c, "replay (confirm)");
    if (typeof actor !== "string") return actor;
    const letters = await chosenLetters(c);
    const replayedBefore = letters.filter((letter) => services.deadLetters.replayOf(letter)).length;
    return c.html(
      replayConfirmPage({ letters, jobTopic: services.jobTopic, replayedBefore }, view(c)),
    );
  });

  app.post("/dead-letters/replay", async (c) => {
    const actor = await authorize(c, "replay");
    if (typeof actor !== "string") return actor;
    const form = await c.req.parseBody({ all: true });
    if (form.confirm !== "yes") {
      throw new InputError("confirm", "a replay must be confirmed on the confirmation page");
    }
    const letters = await chosenLetters(c);
    await services.deadLetters.replay(letters, actor);
    audit.info("Replayed {count} dead letter(s) to {topic} by {actor} from {remote}: {positions}", {
      action: "replay",
      outcome: "done",
      count: letters.length,
      topic: services.jobTopic,
      actor,
      remote: remoteAddress(c),
      positions: letters.slice(0, 50).map((letter) => `${letter.partition}:${letter.offset}`),
    });
    if (c.req.header("accept")?.includes("application/json")) {
      return c.json({ replayed: letters.length });
    }
    return c.html(replayDonePage({ letters, jobTopic: services.jobTopic }, view(c)));
  });

  app.get("/jobs", async (c) => {
    const text = c.req.query("id");
    if (text === undefined || text.trim() === "") return c.html(jobPage({ view: view(c) }));
    try {
      const id = parseJobId(text);
      return c.html(jobPage({ view: view(c), id, report: await services.lookUpJob(id) }));
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      return c.html(jobPage({ view: view(c), id: text, error: error.message }), 400);
    }
  });

  app.get("/pools", async (c) => {
    if (!services.listPools) return c.html(poolsPage({ view: view(c), configured: false }));
    try {
      return c.html(
        poolsPage({ view: view(c), configured: true, pools: await services.listPools() }),
      );
    } catch (error) {
      return c.html(poolsPage({ view: view(c), configured: true, error: describe(error) }), 502);
    }
  });

  app.get("/login", (c) => {
    const v = view(c);
    if (!auth.actionsEnabled) {
      return c.html(
        messagePage({ title: "Read-only console", message: READ_ONLY, view: v, back: "/" }),
        403,
      );
    }
    return c.html(loginPage({ view: v, next: safeNext(c.req.query("next")) }));
  });

  app.post("/login", async (c) => {
    const form = await c.req.parseBody();
    const next = safeNext(typeof form.next === "string" ? form.next : undefined);
    if (!auth.actionsEnabled) {
      return c.html(
        messagePage({ title: "Read-only console", message: READ_ONLY, view: view(c), back: "/" }),
        403,
      );
    }
    if (!auth.checkToken(typeof form.token === "string" ? form.token : undefined)) {
      audit.warn("Refused log-in from {remote}: wrong token", {
        action: "login",
        outcome: "refused",
        remote: remoteAddress(c),
      });
      // A pause per wrong guess makes guessing a long token slower still.
      await delay(250);
      return c.html(
        loginPage({ view: view(c), next, error: "token: that is not the console token" }),
        401,
      );
    }
    const session = auth.openSession();
    setCookie(c, SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      secure: new URL(c.req.url).protocol === "https:",
      maxAge: Math.floor((session.expiresAt - Date.now()) / 1000),
    });
    audit.info("Logged in from {remote}: {actor}", {
      action: "login",
      outcome: "done",
      actor: actorOf(session.id),
      remote: remoteAddress(c),
    });
    return c.redirect(next, 303);
  });

  app.post("/logout", async (c) => {
    const id = getCookie(c, SESSION_COOKIE);
    const session = auth.session(id);
    const form = await c.req.parseBody();
    if (session && auth.checkCsrf(session, typeof form.csrf === "string" ? form.csrf : undefined)) {
      auth.closeSession(session.id);
    }
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.redirect("/", 303);
  });

  /**
   * The actor's name when the request may act; otherwise the refusal to send
   * (403 read-only, 401 not logged in, 403 bad CSRF token), logged.
   */
  async function authorize(c: Context, action: string): Promise<string | Response> {
    const refuse = (status: 401 | 403, reason: string) => {
      audit.warn("Refused {action} from {remote}: {reason}", {
        action,
        outcome: "refused",
        reason,
        remote: remoteAddress(c),
      });
      return c.html(
        messagePage({ title: "Refused", message: reason, view: view(c), back: "/dead-letters" }),
        status,
      );
    };
    if (!auth.actionsEnabled) return refuse(403, READ_ONLY);
    const bearer = /^Bearer (.+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
    if (bearer !== undefined) {
      return auth.checkToken(bearer) ? "bearer token" : refuse(401, "Refused: wrong bearer token");
    }
    const session = auth.session(getCookie(c, SESSION_COOKIE));
    if (!session) {
      return refuse(
        401,
        "Refused: replaying needs the console token; log in first (Log in, top right)",
      );
    }
    const form = await c.req.parseBody({ all: true });
    if (!auth.checkCsrf(session, typeof form.csrf === "string" ? form.csrf : undefined)) {
      return refuse(
        403,
        "Refused: the form's CSRF token is missing or stale; reload the page and try again",
      );
    }
    return actorOf(session.id);
  }

  /** The dead letters a replay form names: its `position` fields, or all matching its filter. */
  async function chosenLetters(c: Context): Promise<DeadLetter[]> {
    const form = await c.req.parseBody({ all: true });
    if (form.scope === "matching") {
      const fields = new URLSearchParams();
      for (const name of ["type", "error_class", "from", "to"]) {
        const value = form[name];
        if (typeof value === "string") fields.set(name, value);
      }
      const filter = parseDeadLetterFilter(fields);
      const letters = (await services.deadLetters.list()).filter((l) => matchesFilter(l, filter));
      if (letters.length === 0) throw new InputError("filter", "no dead letter matches it");
      return letters;
    }
    const raw = form.position;
    const values = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw])
      .filter((value): value is string => typeof value === "string");
    const { found, missing } = await services.deadLetters.find(parsePositions(values));
    if (missing.length > 0) {
      throw new InputError(
        "position",
        `no dead letter at ${missing.slice(0, 10).join(", ")} in ${services.deadLetters.topic}`,
      );
    }
    return found;
  }

  return app;
}

const CROSS_SITE = "Refused: this request did not come from the console's own pages " +
  "(its Origin is another site, or missing)";

const READ_ONLY = "Refused: this console is read-only because CONSOLE_TOKEN is not set; " +
  "set it to allow replays";

/** A session as named in the audit log: a prefix of a hash, never the cookie itself. */
function actorOf(sessionId: string): string {
  let hash = 0;
  for (const char of sessionId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return `session ${hash.toString(16).padStart(8, "0")}`;
}

function remoteAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** Only paths of this console: never `//host` or `https://…` (an open redirect). */
function safeNext(next: string | undefined): string {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\")
    ? next
    : "/";
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
