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

Deno.test("worker killed with SIGKILL mid-stream: the next one runs exactly what was not committed", async () => {
  const config = await setupTopic("worker_crash", { partitions: 3 });
  const campaigns = Array.from({ length: 20 }, () => crypto.randomUUID());
  const jobs = Array.from({ length: 400 }, (_, i) => emailJob(campaigns[i % campaigns.length]!));
  await produce(config, jobs);
  const dir = await Deno.makeTempDir({ prefix: "jobpool_crash_" });
  const effectsDir = `${dir}/effects`;
  await Deno.mkdir(effectsDir);

  /** Starts worker process `n`; its output is kept for a failure message. */
  const start = (n: number) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--config", CONFIG, FIXTURE],
      env: {
        JOBPOOL_FIXTURE_HANDLED_LOG: `${dir}/handled-${n}.log`,
        JOBPOOL_FIXTURE_EFFECTS_DIR: effectsDir,
        KAFKA_BROKERS: kafkaBrokers().join(","),
        KAFKA_JOB_TOPIC: config.kafka.topic,
        KAFKA_JOB_CONSUMER_GROUP: config.worker.consumerGroup,
        KAFKA_WORKER_POOL_SIZE: "5",
        KAFKA_COMMIT_INTERVAL_MS: "200",
        LOG_LEVEL: "info",
      },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = Promise.all([child.stdout, child.stderr].map((s) => new Response(s).text()))
      .then(([stdout, stderr]) => `--- worker ${n} ---\n${stdout}${stderr}`.slice(-4_000));
    return { child, output };
  };
  const handled = (n: number) =>
    Deno.readTextFile(`${dir}/handled-${n}.log`).catch(() => "").then((text) =>
      text.split("\n").filter((line) => line.length === 36)
    );
  const effects = async () => {
    const names: string[] = [];
    for await (const entry of Deno.readDir(effectsDir)) names.push(entry.name);
    return names;
  };
  const processes: ReturnType<typeof start>[] = [];

  try {
    const first = start(1);
    processes.push(first);
    try {
      await waitUntil(async () => (await handled(1)).length >= 100, "100 jobs");
    } finally {
      first.child.kill("SIGKILL");
      await first.child.status;
    }
    // A commit sent just before the kill may still be on its way in: read
    // until two reads a second apart agree.
    let committedBeforeCrash = await committedTotal(config);
    for (let previous = -1; committedBeforeCrash !== previous;) {
      previous = committedBeforeCrash;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      committedBeforeCrash = await committedTotal(config);
    }
    assert.ok(committedBeforeCrash < jobs.length, "killed too late: every job was committed");

    const second = start(2);
    processes.push(second);
    try {
      await waitUntil(
        async () => (await effects()).length >= jobs.length,
        "every effect",
        60_000, // generous: the new process waits out the dead member's session first
      );
      await waitUntil(
        async () => await committedTotal(config) === jobs.length,
        "the commit of every job",
      );
    } finally {
      second.child.kill("SIGTERM");
      assert.equal((await second.child.status).code, 0, "worker 2 did not stop cleanly");
    }

    const ids = new Set(jobs.map((job) => job.id));
    assert.deepEqual(new Set(await effects()), ids, "an effect is missing or unexpected");
    const everHandled = new Set([...await handled(1), ...await handled(2)]);
    for (const id of ids) assert.ok(everHandled.has(id), `job ${id} never handled`);
    // The new process resumes at the committed offsets: it runs every job
    // the dead one had not committed, once, and none that it had.
    const rerun = await handled(2);
    assert.equal(new Set(rerun).size, rerun.length, "worker 2 ran a job twice");
    assert.equal(rerun.length, jobs.length - committedBeforeCrash);
  } catch (error) {
    const outputs = await Promise.all(processes.map((p) => p.output));
    throw new Error(`${(error as Error).message}\n${outputs.join("\n")}`, { cause: error });
  } finally {
    for (const { child } of processes) {
      try {
        child.kill("SIGKILL");
      } catch {
        // It has exited already.
      }
    }
    await Promise.all(processes.map((p) => p.output));
    await Deno.remove(dir, { recursive: true });
  }
});
