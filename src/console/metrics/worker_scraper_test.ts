import assert from "node:assert/strict";
import { JobHistory } from "./job_history.ts";
import { withoutCredentials, WorkerScraper } from "./worker_scraper.ts";

function serveMetrics(body: () => string): { url: string; close: () => Promise<void> } {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(body()),
  );
  return { url: `http://127.0.0.1:${server.addr.port}/metrics`, close: () => server.shutdown() };
}

Deno.test("the scraper adds what workers finished between scrapes and marks a dead one down", async () => {
  let succeeded = 10;
  const worker = serveMetrics(() =>
    `jobpool_jobs_processed_total{type="a",outcome="succeeded"} ${succeeded}\n` +
    `jobpool_jobs_in_flight{type="a"} 3\n`
  );
  let now = 0;
  const history = new JobHistory({ keepMs: 3_600_000 });
  const scraper = new WorkerScraper({
    urls: [worker.url, "http://user:secret@127.0.0.1:1/metrics"],
    history,
    intervalMs: 1_000,
    now: () => now,
  });
  try {
    await scraper.scrapeOnce();
    now = 10_000;
    succeeded = 30;
    await scraper.scrapeOnce();
    const [a] = history.summary({ now, liveMs: 60_000 });
    assert.equal(a?.total.processed, 20, "the first scrape is the baseline");
    assert.equal(a?.liveRate.processed, 2);
    assert.equal(scraper.inFlight().get("a"), 3);
    const [up, down] = scraper.targets();
    assert.equal(up?.up, true);
    assert.equal(down?.up, false);
    assert.ok(down?.error);
    assert.doesNotMatch(JSON.stringify(scraper.targets()), /secret/);
  } finally {
    await worker.close();
  }
});

Deno.test("credentials are removed from URLs shown", () => {
  assert.equal(withoutCredentials("http://u:p@w:9090/metrics"), "http://w:9090/metrics");
});
