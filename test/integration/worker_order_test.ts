import assert from "node:assert/strict";
import type { JobHandler } from "../../src/handlers/handler.ts";
import { toJobMessage } from "../../src/jobs/mod.ts";
import { runWorker } from "../../src/worker/mod.ts";
import {
  committedOffsets,
  emailJob,
  gate,
  produce,
  setupTopic,
  waitUntil,
} from "./fixtures/worker_harness.ts";

Deno.test("worker keeps per-key order, runs other keys meanwhile and never commits past a stuck job", async () => {
  const config = await setupTopic("worker_order", {
    partitions: 1,
    env: { KAFKA_WORKER_POOL_SIZE: "4" },
  });
  const slow = crypto.randomUUID();
  const before = Array.from({ length: 5 }, () => emailJob(crypto.randomUUID()));
  const slowJobs = Array.from({ length: 5 }, () => emailJob(slow));
  const campaigns = Array.from({ length: 4 }, () => crypto.randomUUID());
  const after = Array.from({ length: 20 }, (_, i) => emailJob(campaigns[i % 4]!));
  // One partition: offsets 0-4 other keys, 5 the stuck job, 6-9 its key, then others.
  await produce(config, [...before, ...slowJobs, ...after]);
  const stuckOffset = before.length;
  const total = before.length + slowJobs.length + after.length;

  const release = gate();
  const done: string[] = [];
  const slowOrder: string[] = [];
  let slowRunning = 0;
  let slowOverlap = false;
  const handler: JobHandler<"job.email.welcome"> = async (job) => {
    if (job.campaign_id === slow) {
      slowRunning++;
      slowOverlap ||= slowRunning > 1;
      if (job.id === slowJobs[0]!.id) await release.promise;
      slowOrder.push(job.id);
      slowRunning--;
    }
    done.push(job.id);
  };
  const worker = await runWorker({ config, handlers: { "job.email.welcome": handler } });
  try {
    const others = [...before, ...after].map((job) => job.id);
    await waitUntil(() => others.every((id) => done.includes(id)), "other keys to finish");
    assert.deepEqual(slowOrder, [], "the stuck key's later jobs must wait for it");
    await waitUntil(
      async () => (await committedOffsets(config)).get(0) === stuckOffset,
      "the commit up to the stuck job",
    );
    // Commits keep going out on the interval; none may pass the stuck job.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await committedOffsets(config)).get(0), stuckOffset);

    release.open();
    await waitUntil(() => done.length === total, "every job");
    assert.deepEqual(slowOrder, slowJobs.map((job) => job.id));
    assert.equal(slowOverlap, false);
    await waitUntil(
      async () => (await committedOffsets(config)).get(0) === total,
      "the commit of everything",
    );
  } finally {
    release.open();
    await worker.stop();
  }
});

Deno.test("a busy key's backlog pauses its own partition while the other partitions flow", async () => {
  const config = await setupTopic("worker_key_cap", {
    partitions: 2,
    env: { KAFKA_WORKER_POOL_SIZE: "2", KAFKA_WORKER_BUFFER_SIZE: "8" },
  });
  const busy = crypto.randomUUID();
  const busyJobs = Array.from({ length: 10 }, () => emailJob(busy));
  const otherJobs = Array.from({ length: 20 }, () => emailJob(crypto.randomUUID()));
  const release = gate();
  const done: string[] = [];
  let stuck = false;
  const handler: JobHandler<"job.email.welcome"> = async (job) => {
    if (job.id === busyJobs[0]!.id) {
      stuck = true;
      await release.promise;
    }
    done.push(job.id);
  };
  await produce(config, busyJobs.map((job) => ({ ...toJobMessage(job), partition: 0 })));
  const worker = await runWorker({
    config,
    group: { heartbeatIntervalMs: 500, maxWaitTimeMs: 500 },
    handlers: { "job.email.welcome": handler },
  });
  try {
    // Partition 0's batch first: its stuck key's backlog would fill the buffer.
    await waitUntil(() => stuck, "the busy key's first job");
    await produce(config, otherJobs.map((job) => ({ ...toJobMessage(job), partition: 1 })));
    await waitUntil(
      () => otherJobs.every((job) => done.includes(job.id)),
      "partition 1's jobs while partition 0's key is stuck",
    );
    release.open();
    await waitUntil(() => done.length === busyJobs.length + otherJobs.length, "every job");
    assert.deepEqual(
      done.filter((id) => busyJobs.some((job) => job.id === id)),
      busyJobs.map((job) => job.id),
    );
    await waitUntil(
      async () => (await committedOffsets(config)).get(0) === busyJobs.length,
      "the commit of partition 0",
    );
  } finally {
    release.open();
    await worker.stop();
  }
});
