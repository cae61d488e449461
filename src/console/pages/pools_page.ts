/**
 * The Pools page: the cluster's JobWorkerPools with replicas, lag and
 * conditions, or why they cannot be shown.
 *
 * @module
 */

import { html } from "hono/html";
import type { PoolView } from "../pools.ts";
import { formatCount, formatTime } from "./format.ts";
import { type Html, page, type ViewContext } from "./layout.ts";

/** The pools, or a note that no kubeconfig is set, or the error reading them. */
export function poolsPage(
  options: { view: ViewContext; pools?: PoolView[]; error?: string; configured: boolean },
): Html {
  return page({
    title: "Pools",
    active: "pools",
    view: options.view,
    body: !options.configured
      ? html`<p class="empty">No kubeconfig: set <code>CONSOLE_KUBECONFIG</code> (or <code>KUBECONFIG</code>)
        to list the cluster's JobWorkerPools.</p>`
      : options.error
      ? html`<p class="error" role="alert">Cannot list the pools: ${options.error}</p>`
      : (options.pools ?? []).length === 0
      ? html`<p class="empty">No JobWorkerPools in this cluster.</p>`
      : html`
        <table id="pools">
          <thead>
            <tr>
              <th>Namespace</th>
              <th>Pool</th>
              <th>Job types</th>
              <th>Consumer group</th>
              <th>Replicas</th>
              <th>Lag</th>
              <th>Conditions</th>
            </tr>
          </thead>
          <tbody>${(options.pools ?? []).map(poolRow)}</tbody>
        </table>
        <p
          class="hint">Lag is the operator's last reading (<code>OPERATOR_LAG=true</code>); replicas are the Deployment's, with the pool's bounds.</p>
      `,
  });
}

function poolRow(pool: PoolView): Html {
  const { current, min, max } = pool.replicas;
  return html`
    <tr data-pool="${pool.namespace}/${pool.name}">
      <td>${pool.namespace}</td>
      <td><strong>${pool.name}</strong>${pool.observed ? "" : html`
        <span class="badge" title="The operator has not seen the latest spec">pending</span>
      `}</td>
      <td>${pool.jobTypes.join(", ")}</td>
      <td class="mono small">${pool.consumerGroup}</td>
      <td data-field="replicas">${current ?? "–"} <span class="hint">(${min ?? "?"}–${max ??
        "?"})</span></td>
      <td data-field="lag">${pool.lag === undefined ? "–" : formatCount(pool.lag)}</td>
      <td>
        <ul class="conditions">${pool.conditions.map((condition) =>
          html`
            <li data-condition="${condition.type}" class="${condition.status === "True"
              ? "ok"
              : condition.status === "False"
              ? "error"
              : ""}"
              title="${condition.message} (since ${formatTime(
                condition.since,
              )})"><strong>${condition.type}</strong>=${condition
                .status} <span class="hint">${condition.reason}</span></li>
          `
        )}</ul>
      </td>
    </tr>
  `;
}
