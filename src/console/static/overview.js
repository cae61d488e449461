// The Overview's live part: fetch the server-rendered fragment again every
// refresh interval, swap it in, and draw the charts from their data-series
// attributes with uPlot (served by the console itself, no CDN).
"use strict";
(function () {
  const live = document.getElementById("live");
  if (!live) return;
  const refreshMs = Math.max(1000, Number(live.dataset.refreshMs) || 5000);
  const charts = new Map();
  const colours = ["#2459c8", "#b3261e", "#8a5a00"];

  function options(kind, title, width) {
    const common = { title, width, height: 180, legend: { live: false } };
    if (kind === "lag") {
      return {
        ...common,
        scales: { x: { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] } },
        axes: [{ label: "partition", incrs: [1, 2, 5, 10, 20, 50, 100] }, { label: "messages" }],
        series: [{ label: "partition" }, {
          label: "lag",
          fill: "rgba(36,89,200,0.35)",
          stroke: colours[0],
          paths: uPlot.paths.bars({ size: [0.7, 60] }),
          points: { show: false },
        }],
      };
    }
    if (kind === "lag-history") {
      return { ...common, series: [{}, { label: "total lag", stroke: colours[0], width: 2 }] };
    }
    return {
      ...common,
      axes: [{}, { label: "jobs/s" }],
      series: [
        {},
        ...["processed", "failed", "dead-lettered"].map((label, i) => ({
          label,
          stroke: colours[i],
          width: 2,
        })),
      ],
    };
  }

  function draw() {
    const seen = new Set();
    for (const element of live.querySelectorAll("[data-chart]")) {
      const kind = element.dataset.chart;
      const key = `${kind}:${element.closest("[data-group]")?.dataset.group ?? ""}`;
      seen.add(key);
      const data = JSON.parse(element.dataset.series || "[]");
      if (!data[0] || data[0].length === 0) {
        element.textContent = `${element.dataset.title}: no data yet`;
        element.classList.add("hint");
        continue;
      }
      const width = kind === "rates" ? Math.min(element.parentElement.clientWidth, 1100) : 520;
      let chart = charts.get(key);
      if (chart && chart.series.length !== data.length) {
        chart.destroy();
        chart = undefined;
      }
      if (chart) {
        chart.setData(data);
        element.replaceWith(chart.root.parentElement);
      } else {
        element.textContent = "";
        const holder = document.createElement("div");
        holder.className = "chart";
        element.replaceWith(holder);
        chart = new uPlot(options(kind, element.dataset.title, width), data, holder);
        charts.set(key, chart);
      }
    }
    for (const [key, chart] of charts) {
      if (!seen.has(key)) {
        chart.destroy();
        charts.delete(key);
      }
    }
  }

  async function refresh() {
    try {
      const response = await fetch("/overview/live", { headers: { accept: "text/html" } });
      if (response.ok) {
        const html = await response.text();
        // Keep the drawn charts: detach them, swap the fragment, redraw into it.
        live.innerHTML = html;
        draw();
        live.dataset.updatedAt = String(Date.now());
      }
    } catch {
      // The console restarted or the network blinked: try again next time.
    }
    setTimeout(refresh, refreshMs);
  }

  draw();
  setTimeout(refresh, refreshMs);
})();
