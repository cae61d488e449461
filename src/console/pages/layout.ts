/**
 * The frame of every console page: navigation, the read-only or logged-in
 * badge, and the page's scripts. Every value goes through hono's `html`,
 * which escapes it.
 *
 * @module
 */

import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";

/** A rendered piece of HTML. */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/** Which page is shown, for the navigation. */
export type PageName = "overview" | "dead-letters" | "jobs" | "pools" | "login" | "message";

/** What every page knows about the viewer and the console. */
export interface ViewContext {
  /** Whether a token is configured (actions possible at all). */
  actionsEnabled: boolean;
  /** The viewer's session CSRF token, when logged in. */
  csrf?: string;
  /** The request's path and query, to come back to after logging in. */
  path: string;
}

/** Options of {@linkcode page}. */
export interface PageOptions {
  /** The `<title>` and `<h1>`. */
  title: string;
  /** Which navigation entry is current. */
  active: PageName;
  /** The viewer. */
  view: ViewContext;
  /** The page's content. */
  body: Html;
  /** Scripts under `/static/`, in order. */
  scripts?: readonly string[];
}

const NAVIGATION: [PageName, string, string][] = [
  ["overview", "/", "Overview"],
  ["dead-letters", "/dead-letters", "Dead letters"],
  ["jobs", "/jobs", "Find a job"],
  ["pools", "/pools", "Pools"],
];

/** A whole page. */
export function page(options: PageOptions): Html {
  const { view } = options;
  return html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>${options.title} · jobpool console</title>
        <link rel="stylesheet" href="/static/console.css">
        <link rel="stylesheet" href="/static/uPlot.min.css">
      </head>
      <body>
    <header class="top">
      <a class="brand" href="/">jobpool</a>
      <nav>${NAVIGATION.map(([name, href, label]) =>
        html`
          <a href="${href}" ${name === options.active
            ? html`
              aria-current="page"
            `
            : ""}>${label}</a>
        `
      )}</nav>
      <div class="who">${whoAmI(view)}</div>
    </header>
    <main>
    <h1>${options.title}</h1>
    ${options.body}
    </main>
    ${(options.scripts ?? []).map((script) => html`<script src="/static/${script}"></script>`)}
      </body>
    </html>
  `;
}

function whoAmI(view: ViewContext): Html {
  if (!view.actionsEnabled) {
    return html`<span class="badge" title="Set CONSOLE_TOKEN to enable replays">read-only</span>`;
  }
  if (view.csrf) {
    return html`<form method="post" action="/logout" class="inline">
      <input type="hidden" name="csrf" value="${view.csrf}">
      <span class="badge ok">logged in</span> <button type="submit" class="link">Log out</button>
    </form>`;
  }
  return html`<a class="button" href="/login?next=${encodeURIComponent(view.path)}">Log in</a>`;
}

/** The hidden field every action form carries. */
export function csrfField(view: ViewContext): Html {
  return html`<input type="hidden" name="csrf" value="${view.csrf ?? ""}">`;
}

/** A page saying something went wrong (or was refused), with a way back. */
export function messagePage(
  options: { title: string; message: string; view: ViewContext; back?: string },
): Html {
  return page({
    title: options.title,
    active: "message",
    view: options.view,
    body: html`<p class="error" role="alert">${options.message}</p>
      ${options.back ? html`<p><a href="${options.back}">Back</a></p>` : ""}`,
  });
}

/** The login form. */
export function loginPage(
  options: { view: ViewContext; next: string; error?: string },
): Html {
  return page({
    title: "Log in",
    active: "login",
    view: options.view,
    body: html`
      ${options.error ? html`<p class="error" role="alert">${options.error}</p>` : ""}
            <form method="post" action="/login" class="card narrow">
        <input type="hidden" name="next" value="${options.next}">
        <label>Console token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
        <button type="submit">Log in</button>
        <p class="hint">The token is <code>CONSOLE_TOKEN</code> of the console's environment. Logging in
              allows replaying dead letters; every action is logged.</p>
      </form>
    `,
  });
}
