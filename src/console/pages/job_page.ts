/**
 * Find a job: the search form, and what the dead letters, the ledger, the
 * email records and the reward know of one event id.
 *
 * @module
 */

import { html } from "hono/html";
import { formatPosition } from "../../cli/dead_letters.ts";
import { jobOutcome, type JobReport } from "../jobs/lookup.ts";
import { formatTime } from "./format.ts";
import { type Html, page, type ViewContext } from "./layout.ts";

/** The search form, with the report when an id was looked up. */
export function jobPage(
  options: { view: ViewContext; id?: string; report?: JobReport; error?: string },
): Html {
  const { report } = options;
  return page({
    title: "Find a job",
    active: "jobs",
    view: options.view,
    body: html`<form method="get" action="/jobs" class="filters">
  <label>Job event id <input type="search" name="id" value="${options.id ?? ""}" size="40"
    placeholder="0f8fad5b-d9cb-469f-a165-70867728950e" required></label>
  <button type="submit">Find</button>
</form>
${options.error ? html`<p class="error" role="alert">${options.error}</p>` : ""}
${report ? reportSection(report) : ""}`,
  });
}

function reportSection(report: JobReport): Html {
  const outcome = jobOutcome(report);
  const found = report.ledger || report.deadLetters.length > 0 || report.emails.length > 0;
  return html`<section id="job-report">
<h2>Job <code>${report.id}</code></h2>
${
    found
      ? ""
      : html`<p class="empty">Nothing is known of this id: no dead letter, no ledger entry, no email. It may
  not have run yet (see the lag on the Overview), or its ledger entry was pruned (LEDGER_RETENTION_DAYS).</p>`
  }
<dl class="fields">
  <dt>Outcome</dt><dd data-field="outcome">${outcome}</dd>
  <dt>Job type</dt><dd>${report.ledger?.jobType ?? stringField(report.envelope, "type") ?? "–"}</dd>
  <dt>Campaign (key)</dt><dd class="mono">${
    report.ledger?.campaignId ?? stringField(report.envelope, "campaign_id") ?? "–"
  }</dd>
  <dt>Processed at</dt><dd>${formatTime(report.ledger?.processedAt)}</dd>
</dl>
<h3>Dead letters (${report.deadLetters.length})</h3>
${
    report.deadLetters.length === 0 ? html`<p class="empty">None.</p>` : html`
      <table>
        <thead>
          <tr>
            <th>Dead letter</th>
            <th>Original partition</th>
            <th>Original offset</th>
            <th>Attempts</th>
            <th>Error</th>
            <th>Dead-lettered</th>
          </tr>
        </thead>
        <tbody>${report.deadLetters.map((letter) =>
          html`
            <tr>
              <td><a href="/dead-letters/${formatPosition(letter)}">${formatPosition(
                letter,
              )}</a></td>
              <td data-field="partition">${letter.original.partition ?? "–"}</td>
              <td data-field="offset">${letter.original.offset ?? "–"}</td>
              <td>${letter.attempts ?? "–"}</td>
              <td>${letter.error.class ?? "?"}: ${letter.error.message ?? ""}</td>
              <td>${formatTime(letter.timestamp)}</td>
            </tr>
          `
        )}</tbody>
      </table>
    `
  }
<h3>Emails (${report.emails.length})</h3>
${
    report.emails.length === 0 ? html`<p class="empty">None recorded for this event.</p>` : html`
      <table>
        <thead>
          <tr>
            <th>Kind</th>
            <th>Status</th>
            <th>Attempts</th>
            <th>Recipient</th>
            <th>Sent</th>
            <th>Last error</th>
          </tr>
        </thead>
        <tbody>${report.emails.map((email) =>
          html`
            <tr data-email-kind="${email.kind}">
              <td>${email.kind}</td>
              <td data-field="email-status">${email.status}</td>
              <td>${email.attempts}</td>
              <td>${email.recipient ?? "–"}</td>
              <td>${formatTime(email.sentAt)}</td>
              <td>${email.lastError ?? ""}</td>
            </tr>
          `
        )}</tbody>
      </table>
    `
  }
${
    report.reward
      ? html`
        <h3>Reward</h3>
        <dl class="fields">
          <dt>User reward</dt><dd class="mono">${report.reward.id}</dd>
          <dt>Status</dt><dd data-field="reward-status">${report.reward.status}</dd>
          <dt>Delivery attempts</dt><dd>${report.reward.attempts}</dd>
          <dt>Delivered</dt><dd>${formatTime(report.reward.deliveredAt)}</dd>
          ${report.reward.lastError
            ? html`
              <dt>Last error</dt>
              <dd>${report.reward.lastError}</dd>
            `
            : ""}
        </dl>
      `
      : ""
  }
${
    report.envelope
      ? html`
        <h3>Envelope</h3>
        <pre>${JSON.stringify(report.envelope, null, 2)}</pre>
      `
      : ""
  }
</section>`;
}

function stringField(
  record: Record<string, unknown> | undefined,
  name: string,
): string | undefined {
  const value = record?.[name];
  return typeof value === "string" ? value : undefined;
}
