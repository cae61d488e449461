import assert from "node:assert/strict";
import { runWorker } from "../../src/worker/mod.ts";
import {
  committedOffsets,
  emailJob,
  produce,
  setupTopic,
  waitUntil,
} from "./fixtures/worker_harness.ts";

Deno.test("worker stop lets running jobs finish, commits them and leaves the rest for redelivery", async () => {
  const config = await setupTopic("worker_drain", {
    partitions: 1,
    env: { KAFKA_WORKER_POOL_SIZE: "3" },
  });
  const campaigns = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
  const first = campaigns.map((campaign) => emailJob(campaign));
  const second = campaigns.map((campaign) => emailJob(campaign));
  await produce(config, [...first, ...second]);

  const started: string[] = [];
  const finished: string[] = [];
  let aborted = false;
  const worker = await runWorker({
    config,
    handlers: {
      "job.email.welcome": async (job, { signal }) => {
        started.push(job.id);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        aborted ||= signal.aborted;
        finished.push(job.id);
      },
    },
  });
  await waitUntil(() => started.length === 3, "the first three jobs to start");
  await worker.stop();
  await worker.done;
  assert.deepEqual(finished.toSorted(), first.map((job) => job.id).toSorted());
  assert.equal(aborted, false);
  assert.equal(worker.ready, false);
  assert.equal((await committedOffsets(config)).get(0), 3);

  // The jobs queued behind them were never started: the next worker gets them.
  const redelivered: string[] = [];
  const next = await runWorker({
    config,
    handlers: {
      "job.email.welcome": (job) => Promise.resolve(void redelivered.push(job.id)),
    },
  });
  try {
    await waitUntil(() => redelivered.length === 3, "the queued jobs to be redelivered");
    assert.deepEqual(redelivered.toSorted(), second.map((job) => job.id).toSorted());
  } finally {
    await next.stop();
  }
});

Deno.test("worker stop aborts jobs still running after the shutdown timeout and does not commit them", async () => {
  const config = await setupTopic("worker_abort", {
    partitions: 1,
    env: { SHUTDOWN_TIMEOUT_MS: "300" },
  });
  const stuck = emailJob(crypto.randomUUID());
  await produce(config, [stuck]);
  let started = false;
  let abortedWith: unknown;
  const worker = await runWorker({
    config,
    handlers: {
      "job.email.welcome": (_job, { signal }) => {
        started = true;
        return new Promise((_, reject) => {
          signal.addEventListener("abort", () => {
            abortedWith = signal.reason;
            reject(signal.reason);
          });
        });
      },
    },
  });
  await waitUntil(() => started, "the job to start");
  await worker.stop();
  assert.ok(abortedWith instanceof Error);
  assert.equal((await committedOffsets(config)).get(0) ?? -1, -1);
});
