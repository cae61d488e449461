import assert from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";
import { kafkaBrokers } from "../env/services.ts";
import {
  committedTotal,
  emailJob,
  produce,
  setupTopic,
  waitUntil,
} from "./fixtures/worker_harness.ts";

const FIXTURE = fromFileUrl(new URL("./fixtures/crash_worker.ts", import.meta.url));
const CONFIG = fromFileUrl(new URL("../../deno.json", import.meta.url));

Deno.test("worker killed with SIGKILL mid-stream handles every job at least once, each effect once", async () => {
  const config = await setupTopic("worker_crash", { partitions: 3 });
  const campaigns = Array.from({ length: 20 }, () => crypto.randomUUID());
  const jobs = Array.from({ length: 400 }, (_, i) => emailJob(campaigns[i % campaigns.length]!));
  await produce(config, jobs);
  const dir = await Deno.makeTempDir({ prefix: "jobpool_crash_" });
  const files = {
    JOBPOOL_FIXTURE_HANDLED_LOG: `${dir}/handled.log`,
    JOBPOOL_FIXTURE_EFFECTS_LOG: `${dir}/effects.log`,
    JOBPOOL_FIXTURE_EFFECTS_DIR: `${dir}/effects`,
  };
  await Deno.mkdir(files.JOBPOOL_FIXTURE_EFFECTS_DIR);
  const env = {
    ...files,
    KAFKA_BROKERS: kafkaBrokers().join(","),
    KAFKA_JOB_TOPIC: config.kafka.topic,
    KAFKA_JOB_CONSUMER_GROUP: config.worker.consumerGroup,
    KAFKA_WORKER_POOL_SIZE: "5",
    KAFKA_COMMIT_INTERVAL_MS: "200",
    LOG_LEVEL: "error",
  };
  const start = () =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--config", CONFIG, FIXTURE],
      env,
      stdout: "null",
      stderr: "inherit",
    }).spawn();
  const ids = (path: string) =>
    Deno.readTextFile(path).catch(() => "").then((text) =>
      text.split("\n").filter((line) => line.length === 36)
    );

  try {
    const first = start();
    await waitUntil(
      async () => (await ids(files.JOBPOOL_FIXTURE_HANDLED_LOG)).length >= 100,
      "100 jobs",
    );
    first.kill("SIGKILL");
    await first.status;
    assert.ok(
      (await ids(files.JOBPOOL_FIXTURE_EFFECTS_LOG)).length < jobs.length,
      "killed too late",
    );

    const second = start();
    try {
      await waitUntil(
        async () => (await ids(files.JOBPOOL_FIXTURE_EFFECTS_LOG)).length >= jobs.length,
        "every effect",
        60_000, // generous: the restarted process type-checks and waits out the dead session
      );
      await waitUntil(
        async () => await committedTotal(config) === jobs.length,
        "the commit of every job",
      );
    } finally {
      second.kill("SIGTERM");
      assert.equal((await second.status).code, 0);
    }

    const handled = new Set(await ids(files.JOBPOOL_FIXTURE_HANDLED_LOG));
    const effects = await ids(files.JOBPOOL_FIXTURE_EFFECTS_LOG);
    for (const job of jobs) assert.ok(handled.has(job.id), `job ${job.id} never handled`);
    assert.equal(effects.length, jobs.length, "an effect was applied twice");
    assert.deepEqual(new Set(effects), new Set(jobs.map((job) => job.id)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
