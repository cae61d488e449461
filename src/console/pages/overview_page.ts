/**
 * The Overview: job rates by type (live and over the history), in-flight
 * jobs, duration percentiles, the workers scraped, and each consumer group's
 * lag per partition, members and assignment. The live part is also served
 * alone (`/overview/live`) for the page's script to swap in.
 *
 * @module
 */

import { html } from "hono/html";
import type { GroupState } from "../kafka/consumer_groups.ts";
import type { RatePoint, TypeSummary } from "../metrics/job_history.ts";
import type { ScrapeTarget } from "../metrics/worker_scraper.ts";
import { formatCount, formatDuration, formatRate, formatTime } from "./format.ts";
import { type Html, page, type ViewContext } from "./layout.ts";

/** Everything the Overview shows. */
export interface OverviewData {
  /** When it was put together (ISO 8601). */
  generatedAt: string;
  /** Seconds of samples behind the totals. */
  historySeconds: number;
  /** The live window, seconds. */
  liveSeconds: number;
  /** Time between scrapes, milliseconds (the page refreshes as often). */
  refreshMs: number;
  /** The job topic. */
  topic: string;
  /** Job types, with jobs in flight now. */
  types: (TypeSummary & { inFlight: number })[];
  /** All types' rates over the history, for the chart. */
  timeline: RatePoint[];
  /** The workers scraped. */
  workers: ScrapeTarget[];
  /** The consumer groups. */
  groups: GroupState[];
}

/** The whole Overview page. */
export function overviewPage(data: OverviewData, view: ViewContext): Html {
  return page({
    title: "Overview",
    active: "overview",
    view,
    body: html`<div id="live" data-refresh-ms="${data.refreshMs}">${overviewLive(data)}</div>`,
    scripts: ["uPlot.iife.min.js", "overview.js"],
  });
}

/** The part of the Overview that refreshes. */
export function overviewLive(data: OverviewData): Html {
  const minutes = Math.round(data.historySeconds / 60);
  return html`
    <p
      class="hint">Updated <time data-field="generated-at">${formatTime(
        data.generatedAt,
      )}</time> · rates over the last ${data
        .liveSeconds} s · totals and percentiles over the last ${minutes < 1
        ? `${Math.round(data.historySeconds)} s`
        : `${minutes} min`} of scrapes</p>
    <section>
      <h2>Jobs by type</h2>
      ${jobTable(data)}
      <div class="chart" data-chart="rates" data-title="Jobs per second, all types" data-series="${JSON
        .stringify(rateSeries(data.timeline))}"></div>
    </section>
    <section>
      <h2>Consumer groups on <code>${data.topic}</code></h2>
      ${data.groups.map(groupCard)}
    </section>
    <section>
      <h2>Workers</h2>
      ${workerList(data.workers)}
      <!-- Circuit breakers: the lead's per-dependency breaker will export
          jobpool_dependency_breaker_state{dependency}; show it here, one row per
          dependency and worker, once the worker has it (read in worker_scraper.ts). -->
    </section>
  `;
}

function jobTable(data: OverviewData): Html {
  if (data.types.length === 0) {
    return html`<p class="empty">No jobs finished since the console started${
      data.workers.length === 0
        ? " — no worker metrics configured (CONSOLE_WORKER_METRICS_URLS)"
        : ""
    }.</p>`;
  }
  const totalInFlight = data.types.reduce((sum, type) => sum + type.inFlight, 0);
  return html`
    <table class="numbers" id="job-types">
      <thead>
        <tr>
          <th rowspan="2">Job type</th>
          <th colspan="4">Now (per second)</th>
          <th colspan="4">Last hour (jobs)</th>
          <th rowspan="2">In flight</th>
          <th colspan="2">Duration</th>
        </tr>
        <tr>
          <th>processed</th>
          <th>retried</th>
          <th>failed</th>
          <th>dead-lettered</th>
          <th>processed</th>
          <th>retried</th>
          <th>failed</th>
          <th>dead-lettered</th>
          <th>p50</th>
          <th>p99</th>
        </tr>
      </thead>
      <tbody>${data.types.map((type) =>
        html`<tr data-type="${type.type}">
  <th scope="row">${type.type}</th>
  <td data-field="rate-processed">${formatRate(type.liveRate.processed)}</td>
  <td data-field="rate-retried">${formatRate(type.liveRate.retried)}</td>
  <td data-field="rate-failed">${formatRate(type.liveRate.failed)}</td>
  <td data-field="rate-dead-lettered">${formatRate(type.liveRate.deadLettered)}</td>
  <td data-field="total-processed">${formatCount(type.total.processed)}</td>
  <td>${formatCount(type.total.retried)}</td>
  <td>${formatCount(type.total.failed)}</td>
  <td data-field="total-dead-lettered">${formatCount(type.total.deadLettered)}</td>
  <td data-field="in-flight">${formatCount(type.inFlight)}</td>
  <td title="last ${data.liveSeconds} s: ${formatDuration(type.live.p50)}">${
          formatDuration(type.history.p50)
        }</td>
  <td title="last ${data.liveSeconds} s: ${formatDuration(type.live.p99)}">${
          formatDuration(type.history.p99)
        }</td>
</tr>`
      )}</tbody>
      <tfoot>
        <tr>
          <th scope="row">All types</th>
          <td colspan="8"></td>
          <td data-field="in-flight-total">${formatCount(totalInFlight)}</td>
          <td colspan="2"></td>
        </tr>
      </tfoot>
    </table>
    <p class="hint">Processed counts every finished attempt; failed = retried + dead-lettered.</p>
  `;
}

function groupCard(group: GroupState): Html {
  const partitions = group.lag?.partitions ?? [];
  const owners = new Map<number, string>();
  for (const member of group.members) {
    for (const partition of member.partitions) owners.set(partition, member.clientId);
  }
  return html`<article class="card" data-group="${group.group}">
  <h3>${group.group} <span class="badge">${group.state}</span>
    <span class="right">total lag <strong data-field="lag-total">${
    group.lag ? formatCount(group.lag.total) : "–"
  }</strong></span></h3>
  ${group.error ? html`<p class="error">Cannot read this group: ${group.error}</p>` : ""}
  <div class="chart-row">
    <div class="chart" data-chart="lag" data-title="Lag per partition" data-series="${
    JSON.stringify([partitions.map((p) => p.partition), partitions.map((p) => p.lag)])
  }"></div>
    <div class="chart" data-chart="lag-history" data-title="Total lag over time" data-series="${
    JSON.stringify([group.lagHistory.map(([t]) => t), group.lagHistory.map(([, lag]) => lag)])
  }"></div>
  </div>
  <details>
    <summary>Partitions (${partitions.length})</summary>
    <table class="numbers"><thead><tr><th>Partition</th><th>Committed</th><th>Log end</th><th>Lag</th><th>Member</th></tr></thead>
    <tbody>${
    partitions.map((p) =>
      html`
        <tr>
          <td>${p.partition}</td>
          <td>${p.currentOffset ?? "–"}</td>
          <td>${p.logEndOffset}</td>
          <td>${p.lag}</td>
          <td>${owners.get(p.partition) ?? "–"}</td>
        </tr>
      `
    )
  }</tbody></table>
  </details>
  <h4>Members (${group.members.length})</h4>
  ${
    group.members.length === 0
      ? html`<p class="empty">No members: no worker of this group is running.</p>`
      : html`
        <table>
          <thead>
            <tr>
              <th>Client</th>
              <th>Host</th>
              <th>Partitions</th>
              <th>Member id</th>
            </tr>
          </thead>
          <tbody>${group.members.map((member) =>
            html`
              <tr data-member="${member.memberId}">
                <td>${member.clientId}</td>
                <td>${member.host}</td>
                <td>${member.partitions.length === 0 ? "none" : member.partitions.join(", ")}</td>
                <td class="mono small">${member.memberId}</td>
              </tr>
            `
          )}</tbody>
        </table>
      `
  }
</article>`;
}

function workerList(workers: readonly ScrapeTarget[]): Html {
  if (workers.length === 0) {
    return html`<p class="empty">No worker metrics configured: set CONSOLE_WORKER_METRICS_URLS to the
      workers' <code>/metrics</code> URLs for job rates and durations.</p>`;
  }
  return html`<ul class="workers">${
    workers.map((worker) =>
      html`<li data-up="${worker.up}"><span class="dot ${worker.up ? "up" : "down"}"></span>
        <code>${worker.url}</code> ${
        worker.up
          ? html`<span class="hint">scraped ${formatTime(worker.lastSuccessAt)}</span>`
          : html`<span class="error">${worker.error ?? "not scraped yet"}</span>`
      }</li>`
    )
  }</ul>`;
}

/** `[times, processed, failed, dead-lettered]` for the rate chart. */
function rateSeries(timeline: readonly RatePoint[]): number[][] {
  return [
    timeline.map((point) => point.t),
    timeline.map((point) => round(point.processed)),
    timeline.map((point) => round(point.failed)),
    timeline.map((point) => round(point.deadLettered)),
  ];
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
