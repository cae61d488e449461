import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { JobHandlers } from "../../src/handlers/mod.ts";
import { RetryLaterError } from "../../src/jobs/mod.ts";
import { legacyEventId, startLegacyWorker } from "../../src/legacy/mod.ts";
import { createWorkerMetrics } from "../../src/observability/metrics.ts";
import { freePort } from "../env/process.ts";
import { gate, waitUntil } from "./fixtures/worker_harness.ts";
import { legacyStack } from "./_legacy_fixture.ts";

const MAIN = fileURLToPath(new URL("../../src/legacy/main.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));

Deno.test("legacy worker: a legacy-shaped job runs the real handler; bad ones are failed with the reason and kept", async () => {
  const stack = await legacyStack("legacy_shape", {
    BULLMQ_JOB_NAMES: "send-welcome=job.email.welcome",
  });
  const { campaign } = stack;
  const real = stack.handlers();
  const metrics = createWorkerMetrics();
  const worker = await startLegacyWorker({
    config: stack.config,
    handlers: real.handlers,
    metrics,
  });
  const queue = stack.queue();
  try {
    const good = await queue.add("send-welcome", {
      account_id: campaign.accountId,
      campaign_id: campaign.campaignId,
      user_id: campaign.userIds[1],
    });
    const badField = await queue.add("job.email.welcome", {
      account_id: campaign.accountId,
      campaign_id: campaign.campaignId,
      user_id: "not-a-uuid",
    });
    const badName = await queue.add("send-sms", { account_id: campaign.accountId });
    await waitUntil(
      async () => {
        const counts = await queue.getJobCounts("completed", "failed");
        return counts.completed === 1 && counts.failed === 2;
      },
      "one job completed and two failed",
    );
    const [mail] = await stack.smtp.waitForMessages(1);
    assert.match(mail!.subject, /^Welcome to /);
    const eventId = await legacyEventId(good, {
      prefix: stack.config.legacy.prefix,
      queue: queue.name,
    });
    const [delivery] = await stack.db.sql<{ event_id: string }[]>`
      select event_id from email_deliveries where event_id = ${eventId}
    `;
    assert.ok(delivery, "the email is recorded under the id derived from the BullMQ job id");

    const failedField = await queue.getJob(badField.id!);
    assert.equal(await failedField!.getState(), "failed");
    assert.match(failedField!.failedReason, /JobDecodeError: .*"data\.user_id"/);
    assert.match(failedField!.failedReason, /dead-lettered after 0 attempt\(s\)/);
    assert.equal(failedField!.data.user_id, "not-a-uuid", "its data is kept as it was");
    const failedName = await queue.getJob(badName.id!);
    assert.match(failedName!.failedReason, /name "send-sms" is no job type.*BULLMQ_JOB_NAMES/);

    const text = await metrics.registry.metrics();
    assert.match(
      text,
      /jobpool_jobs_processed_total\{type="job.email.welcome",outcome="succeeded"\} 1/,
    );
    assert.match(text, /jobpool_dead_letters_total\{type="job.email.welcome"\} 1/);
    assert.match(text, /jobpool_dead_letters_total\{type="unknown"\} 1/);
  } finally {
    await worker.stop();
    real.close();
    await stack.close();
  }
});

Deno.test("legacy worker: retries are the runner's; after JOB_MAX_ATTEMPTS the job is failed in Redis", async () => {
  const stack = await legacyStack("legacy_retry", { JOB_MAX_ATTEMPTS: "3" });
  const attempts = new Map<string, number>();
  const handlers: Partial<JobHandlers> = {
    "job.position.recalculate": (job, context) => {
      attempts.set(job.id, context.attempt);
      if (job.data.points_per_referral === 1 && context.attempt < 3) {
        throw new Error(`flaky ${context.attempt}`);
      }
      if (job.data.points_per_referral === 2) throw new Error("always broken");
      return Promise.resolve();
    },
  };
  const worker = await startLegacyWorker({ config: stack.config, handlers });
  const queue = stack.queue();
  try {
    const base = { account_id: stack.campaign.accountId, campaign_id: stack.campaign.campaignId };
    const flaky = await queue.add("job.position.recalculate", { ...base, points_per_referral: 1 });
    const broken = await queue.add("job.position.recalculate", { ...base, points_per_referral: 2 });
    await waitUntil(async () => {
      const counts = await queue.getJobCounts("completed", "failed");
      return counts.completed === 1 && counts.failed === 1;
    }, "one job completed and one failed");
    assert.equal(await (await queue.getJob(flaky.id!))!.getState(), "completed");
    const failed = (await queue.getJob(broken.id!))!;
    assert.match(failed.failedReason, /^Error: always broken \(dead-lettered after 3 attempt\(s\)/);
    assert.equal(failed.attemptsMade, 1, "one BullMQ run: the retries happened inside it");
    assert.deepEqual([...attempts.values()].sort(), [3, 3]);
  } finally {
    await worker.stop();
    await stack.close();
  }
});

Deno.test("legacy worker: a stop lets the running job finish, puts a job waiting to retry back, takes nothing new", async () => {
  const stack = await legacyStack("legacy_stop", {
    JOB_RETRY_MAX_MS: "60000",
    SHUTDOWN_TIMEOUT_MS: "10000",
  });
  const running = gate();
  const release = gate();
  const handlers: Partial<JobHandlers> = {
    "job.position.recalculate": async (job) => {
      if (job.data.points_per_referral === 1) {
        running.open();
        await release.promise;
        return;
      }
      throw new RetryLaterError("not now", { retryAfterMs: 60_000 });
    },
  };
  const queue = stack.queue();
  const base = { account_id: stack.campaign.accountId, campaign_id: stack.campaign.campaignId };
  const worker = await startLegacyWorker({ config: stack.config, handlers });
  try {
    const slow = await queue.add("job.position.recalculate", { ...base, points_per_referral: 1 });
    const waiting = await queue.add("job.position.recalculate", {
      ...base,
      points_per_referral: 2,
    });
    await running.promise;
    await waitUntil(async () => (await queue.getJobCounts("active")).active === 2, "two active");
    const stopped = worker.stop();
    assert.equal(worker.readiness, "stopping");
    const later = await queue.add("job.position.recalculate", { ...base, points_per_referral: 1 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    release.open();
    await stopped;
    await worker.done;
    assert.equal(await (await queue.getJob(slow.id!))!.getState(), "completed");
    const back = (await queue.getJob(waiting.id!))!;
    assert.equal(await back.getState(), "waiting", "the job waiting to retry is back in the queue");
    assert.equal(back.attemptsMade, 0, "and no BullMQ attempt was used");
    assert.equal(await (await queue.getJob(later.id!))!.getState(), "waiting");
  } finally {
    release.open();
    await worker.stop();
    await stack.close();
  }
});

Deno.test("deno task worker:legacy serves probes and metrics, runs jobs, and exits 0 on SIGTERM", async () => {
  const port = freePort();
  const stack = await legacyStack("legacy_main", {
    METRICS_PORT: String(port),
    DATABASE_MIGRATE_ON_START: "true",
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--config", CONFIG, MAIN],
    env: { ...stack.env, LOG_LEVEL: "warning" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = Promise.all([child.stdout, child.stderr].map((s) => new Response(s).text()));
  const url = (path: string) => `http://127.0.0.1:${port}${path}`;
  try {
    await waitUntil(
      () => fetch(url("/readyz")).then((r) => (r.body?.cancel(), r.ok)).catch(() => false),
      "/readyz to answer 200",
      60_000,
    );
    await stack.queue().add("job.email.welcome", {
      account_id: stack.campaign.accountId,
      campaign_id: stack.campaign.campaignId,
      user_id: stack.campaign.userIds[2],
    });
    await stack.smtp.waitForMessages(1, 20_000);
    await waitUntil(
      async () =>
        /jobpool_jobs_processed_total\{type="job.email.welcome",outcome="succeeded"\} 1/.test(
          await fetch(url("/metrics")).then((r) => r.text()),
        ),
      "the job in /metrics",
    );
    child.kill("SIGTERM");
    const status = await child.status;
    assert.equal(status.code, 0, (await output).join("\n"));
    assert.match((await output)[0]!, /BullMQ legacy job worker configuration/);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // It has exited.
    }
    await output;
    await stack.close();
  }
});
