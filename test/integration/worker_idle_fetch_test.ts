/**
 * The worker's fetch wait follows its work (`src/kafka/busy_fetch_wait.ts`):
 * while a job runs it fetches with a brief wait, so a resume or a seek is
 * served at once; once everything it took is committed it long-polls, so an
 * idle worker does not keep asking the broker.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { JobHandler } from "../../src/handlers/handler.ts";
import { kafkajsConsumerGroup } from "../../src/kafka/mod.ts";
import { runWorker } from "../../src/worker/mod.ts";
import {
  committedTotal,
  emailJob,
  gate,
  produce,
  setupTopic,
  waitUntil,
} from "./fixtures/worker_harness.ts";

Deno.test("a worker with a job running fetches briefly; once idle and committed it long-polls", async () => {
  const prototype = kafkajsConsumerGroup().prototype as unknown as {
    fetch(...args: unknown[]): unknown;
  };
  const fetch = prototype.fetch;
  let fetches = 0;
  prototype.fetch = function (...args) {
    fetches++;
    return fetch.apply(this, args);
  };
  const config = await setupTopic("worker_idle_fetch", { partitions: 1 });
  const jobs = Array.from({ length: 10 }, () => emailJob(crypto.randomUUID()));
  await produce(config, jobs);
  const release = gate();
  let done = 0;
  const handler: JobHandler<"job.email.welcome"> = async (job) => {
    if (job.id === jobs[0]!.id) await release.promise;
    done++;
  };
  const worker = await runWorker({ config, handlers: { "job.email.welcome": handler } });
  try {
    await waitUntil(() => done === jobs.length - 1, "every job but the held one");
    fetches = 0;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const busy = fetches;

    release.open();
    await waitUntil(async () => (await committedTotal(config)) === jobs.length, "the last commit");
    // The fetch out when the commit landed may still be a brief one.
    await new Promise((resolve) => setTimeout(resolve, 600));
    fetches = 0;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const idle = fetches;

    assert.ok(
      busy >= 10,
      `${busy} fetches in 2 s with a job running: the fetch wait was not brief`,
    );
    // The worker's fetch wait is 500 ms: about 4 in 2 s.
    assert.ok(idle <= 6, `${idle} fetches in 2 s idle: the worker did not long-poll`);
  } finally {
    release.open();
    await worker.stop();
    prototype.fetch = fetch;
  }
});
