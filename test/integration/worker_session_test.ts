import assert from "node:assert/strict";
import { createKafkaClient } from "../../src/kafka/mod.ts";
import { runWorker } from "../../src/worker/mod.ts";
import {
  committedTotal,
  emailJob,
  produce,
  setupTopic,
  waitUntil,
} from "./fixtures/worker_harness.ts";

for (const bufferSize of ["100", "1"]) {
  // With a buffer of one, fetching itself waits for the long job: then the
  // heartbeats come from that wait.
  Deno.test(`worker keeps its group membership while a job outlasts the session timeout (buffer ${bufferSize})`, async () => {
    const config = await setupTopic("worker_session", {
      partitions: 1,
      env: { KAFKA_WORKER_BUFFER_SIZE: bufferSize, KAFKA_WORKER_POOL_SIZE: "2" },
    });
    const long = emailJob(crypto.randomUUID());
    const quick = emailJob(crypto.randomUUID());
    await produce(config, [long, quick]);
    const handled: string[] = [];
    const worker = await runWorker({
      config,
      // 6 s is the broker's minimum session timeout; the job takes 10 s.
      group: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, maxWaitTimeMs: 500 },
      handlers: {
        "job.email.welcome": async (job) => {
          if (job.id === long.id) await new Promise((resolve) => setTimeout(resolve, 10_000));
          handled.push(job.id);
        },
      },
    });
    try {
      await waitUntil(() => handled.length === 2, "both jobs", 25_000);
      assert.deepEqual(handled.toSorted(), [quick.id, long.id].toSorted());
      assert.equal(worker.joins, 1, "a rebalance happened while the long job ran");
      await waitUntil(async () => await committedTotal(config) === 2, "the commit of both jobs");
      const admin = createKafkaClient(config.kafka).admin();
      await admin.connect();
      try {
        const { groups: [group] } = await admin.describeGroups([config.worker.consumerGroup]);
        assert.equal(group?.state, "Stable");
        assert.equal(group?.members.length, 1);
      } finally {
        await admin.disconnect();
      }
    } finally {
      await worker.stop();
    }
  });
}
