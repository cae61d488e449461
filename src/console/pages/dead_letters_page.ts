/**
 * The Dead letters pages: the filtered list with replay buttons, one dead
 * letter in full, the confirmation before a replay, and its result. Replay
 * forms work without JavaScript; the list's script only adds "select all".
 *
 * @module
 */

import { html } from "hono/html";
import { type DeadLetter, formatPosition } from "../../cli/dead_letters.ts";
import type { ReplayRecord } from "../dead_letters/store.ts";
import { type DeadLetterFilter, filterFields } from "../dead_letters/filter.ts";
import { formatTime } from "./format.ts";
import { csrfField, type Html, page, type ViewContext } from "./layout.ts";

/** What the list shows. */
export interface DeadLetterListData {
  /** The dead-letter topic. */
  topic: string;
  /** The filter applied. */
  filter: DeadLetterFilter;
  /** Choices for the filter's fields. */
  choices: { types: string[]; errorClasses: string[] };
  /** The matching dead letters, newest first. */
  letters: DeadLetter[];
  /** How many dead letters there are in all. */
  total: number;
  /** Rows shown at most. */
  limit: number;
  /** This console's replays, by position. */
  replays: (letter: DeadLetter) => ReplayRecord | undefined;
}

/** The list. */
export function deadLetterListPage(data: DeadLetterListData, view: ViewContext): Html {
  const shown = data.letters.slice(0, data.limit);
  const matching = data.letters.length;
  return page({
    title: "Dead letters",
    active: "dead-letters",
    view,
    scripts: ["dead_letters.js"],
    body: html`
      <p
        class="hint">${data.total} dead letter(s) in <code>${data
          .topic}</code>; ${matching} match${matching > shown.length
          ? `, the newest ${shown.length} shown`
          : ""}.</p>
      ${filterForm(data)}
      <form method="post" action="/dead-letters/replay/confirm" id="replay-form">
        ${csrfField(view)}
        ${[...filterFields(data.filter)].map(([name, value]) =>
          html`<input type="hidden" name="${name}" value="${value}">`
        )}
        ${replayButtons(view, matching)}
        <table id="dead-letters">
          <thead><tr><th><input type="checkbox" id="select-all" aria-label="Select all shown" hidden></th>
            <th>Dead letter</th><th>Dead-lettered</th><th>Job type</th><th>Job id</th><th>Original</th><th>Attempts</th><th>Error</th></tr></thead>
          <tbody>${shown.map((letter) => letterRow(letter, data.replays(letter)))}</tbody>
        </table>
        ${shown.length === 0 ? html`<p class="empty">No dead letters match.</p>` : ""}
      </form>
    `,
  });
}

function filterForm(data: DeadLetterListData): Html {
  const { filter, choices } = data;
  const option = (value: string, selected: string | undefined) =>
    html`
      <option value="${value}" ${value === selected
        ? html`
          selected
        `
        : ""}>${value}</option>
    `;
  const local = (date: Date | undefined) => date ? date.toISOString().slice(0, 16) : "";
  return html`<form method="get" action="/dead-letters" class="filters" id="filter-form">
  <label>Job type <select name="type"><option value="">any</option>${
    choices.types.map((type) => option(type, filter.type))
  }</select></label>
  <label>Error class <select name="error_class"><option value="">any</option>${
    choices.errorClasses.map((name) => option(name, filter.errorClass))
  }</select></label>
  <label>From (UTC) <input type="datetime-local" name="from" value="${local(filter.from)}"></label>
  <label>To (UTC) <input type="datetime-local" name="to" value="${local(filter.to)}"></label>
  <button type="submit">Filter</button> <a href="/dead-letters">Clear</a>
</form>`;
}

function replayButtons(view: ViewContext, matching: number): Html {
  if (!view.actionsEnabled) {
    return html`<p class="hint">Read-only: set <code>CONSOLE_TOKEN</code> to replay dead letters.</p>`;
  }
  const login = view.csrf ? "" : html`
    <span class="hint">(<a href="/login?next=${encodeURIComponent(
      view.path,
    )}">log in</a> first)</span>
  `;
  return html`<p class="actions">
  <button type="submit" name="scope" value="selected" id="replay-selected">Replay selected…</button>
  <button type="submit" name="scope" value="matching" id="replay-matching"${
    matching === 0
      ? html`
        disabled
      `
      : ""
  }>Replay all ${matching} matching…</button>${login}
</p>`;
}

function letterRow(letter: DeadLetter, replay: ReplayRecord | undefined): Html {
  const position = formatPosition(letter);
  return html`<tr data-position="${position}">
  <td><input type="checkbox" name="position" value="${position}" aria-label="Select ${position}"></td>
  <td><a href="/dead-letters/${position}">${position}</a>${
    replay
      ? html`
        <span class="badge ok" title="by ${replay.actor}">replayed ${formatTime(replay.at)}</span>
      `
      : ""
  }</td>
  <td>${formatTime(letter.timestamp)}</td>
  <td>${letter.job.type ?? "–"}</td>
  <td class="mono small">${
    letter.job.id ? html`<a href="/jobs?id=${letter.job.id}">${letter.job.id}</a>` : "–"
  }</td>
  <td>${originalPosition(letter)}</td>
  <td>${letter.attempts ?? "–"}</td>
  <td><span class="badge">${letter.error.class ?? "?"}</span> ${
    oneLine(letter.error.message ?? "", 120)
  }</td>
</tr>`;
}

/** One dead letter in full. */
export function deadLetterPage(
  letter: DeadLetter,
  replay: ReplayRecord | undefined,
  view: ViewContext,
): Html {
  const position = formatPosition(letter);
  return page({
    title: `Dead letter ${position}`,
    active: "dead-letters",
    view,
    body: html`
      <dl class="fields">
        <dt>Dead-lettered</dt><dd>${formatTime(letter.timestamp)}</dd>
        <dt>Original position</dt><dd>${originalPosition(letter)}</dd>
        <dt>Job type</dt><dd>${letter.job.type ?? "–"}</dd>
        <dt>Job id</dt><dd class="mono">${letter.job.id
          ? html`<a href="/jobs?id=${letter.job.id}">${letter.job.id}</a>`
          : "–"}</dd>
        <dt>Key</dt><dd class="mono">${letter.key?.toString("utf8") ?? "–"}</dd>
        <dt>Error class</dt><dd>${letter.error.class ?? "–"}</dd>
        <dt>Reason</dt><dd id="reason">${letter.error.message ?? "–"}</dd>
        <dt>Attempts</dt><dd>${letter.attempts ?? "–"}</dd>
        <dt>First failure</dt><dd>${formatTime(letter.firstFailureAt)}</dd>
        <dt>Last failure</dt><dd>${formatTime(letter.lastFailureAt)}</dd>
        ${replay
          ? html`
            <dt>Replayed</dt>
            <dd>${formatTime(replay.at)} by ${replay.actor}</dd>
          `
          : ""}
      </dl>
      ${view.actionsEnabled
        ? html`<form method="post" action="/dead-letters/replay/confirm">${csrfField(view)}
  <input type="hidden" name="position" value="${position}">
  <button type="submit" name="scope" value="selected" id="replay-one">Replay this job…</button></form>`
        : html`<p class="hint">Read-only: set <code>CONSOLE_TOKEN</code> to replay it.</p>`}
      <h2>Envelope</h2>
      <pre id="envelope">${prettyValue(letter.value)}</pre>
      <h2>Headers</h2>
      <table>
        <tbody>${Object.entries(letter.headers).map(([name, value]) =>
          html`
            <tr>
              <th scope="row" class="mono">${name}</th>
              <td class="mono">${value}</td>
            </tr>
          `
        )}</tbody>
      </table>
      <p><a href="/dead-letters">All dead letters</a></p>
    `,
  });
}

/** Options of {@linkcode replayConfirmPage}. */
export interface ReplayConfirmData {
  /** The dead letters about to be replayed. */
  letters: DeadLetter[];
  /** The job topic. */
  jobTopic: string;
  /** How many were replayed by this console before. */
  replayedBefore: number;
}

/** "Replay these N dead letters?" with the exact positions in the form. */
export function replayConfirmPage(data: ReplayConfirmData, view: ViewContext): Html {
  const { letters } = data;
  return page({
    title: `Replay ${letters.length} dead letter(s)?`,
    active: "dead-letters",
    view,
    body: html`
      <p>Each job is published again to <code>${data.jobTopic}</code> with its original key,
        value and headers and runs again. Handlers skip work already done (the ledger), so a job that
        has since succeeded does nothing the second time.</p>
      ${data.replayedBefore > 0
        ? html`<p class="warning">${data.replayedBefore} of them were replayed from this console before.</p>`
        : ""}
      <form method="post" action="/dead-letters/replay" id="confirm-form">
        ${csrfField(view)}
        <input type="hidden" name="confirm" value="yes">
        ${letters.map((letter) =>
          html`<input type="hidden" name="position" value="${formatPosition(letter)}">`
        )}
        <button type="submit" id="confirm-replay">Replay ${letters.length} dead letter(s)</button>
        <a href="/dead-letters">Cancel</a>
      </form>
      <table>
        <thead>
          <tr>
            <th>Dead letter</th>
            <th>Job type</th>
            <th>Job id</th>
            <th>Error</th>
          </tr>
        </thead>
        <tbody>${letters.slice(0, 100).map((letter) =>
          html`
            <tr>
              <td>${formatPosition(letter)}</td>
              <td>${letter.job.type ?? "–"}</td>
              <td class="mono small">${letter.job.id ?? "–"}</td>
              <td>${letter.error.class ?? "?"}</td>
            </tr>
          `
        )}</tbody>
      </table>
      ${letters.length > 100 ? html`<p class="hint">and ${letters.length - 100} more</p>` : ""}
    `,
  });
}

/** What a replay did. */
export function replayDonePage(
  data: { letters: DeadLetter[]; jobTopic: string },
  view: ViewContext,
): Html {
  return page({
    title: "Replayed",
    active: "dead-letters",
    view,
    body:
      html`<p class="ok" role="status" id="replay-result">Replayed ${data.letters.length} dead letter(s) to
  <code>${data.jobTopic}</code>.</p>
<ul>${
        data.letters.slice(0, 100).map((letter) =>
          html`<li>${formatPosition(letter)}: ${letter.job.type ?? "?"} ${
            letter.job.id ? html`<a href="/jobs?id=${letter.job.id}">${letter.job.id}</a>` : ""
          }</li>`
        )
      }</ul>
<p><a href="/dead-letters">Back to the dead letters</a></p>`,
  });
}

function originalPosition(letter: DeadLetter): string {
  const { topic, partition, offset } = letter.original;
  if (topic === undefined) return "–";
  return `${topic} / ${partition ?? "?"} @ ${offset ?? "?"}`;
}

function oneLine(text: string, max: number): string {
  const flat = text.replaceAll(/\s+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function prettyValue(value: DeadLetter["value"]): string {
  if (value === null) return "(null)";
  const text = value.toString("utf8");
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
