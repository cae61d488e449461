import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { Queue } from "bullmq";
import { createKafkaClient } from "../../src/kafka/mod.ts";
import { createJobProducer } from "../../src/producer/mod.ts";
import {
  type BridgeOptions,
  type InvalidJob,
  journalKey,
  legacyEventId,
  runBridge,
} from "../../src/legacy/mod.ts";
import { createRedisClient } from "../../src/bullmq/mod.ts";
import { waitUntil } from "./fixtures/worker_harness.ts";
import { eventIdsInTopic, type LegacyStack, legacyStack } from "./_legacy_fixture.ts";

const BRIDGE = fileURLToPath(new URL("../../src/cli/bridge.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));

/** Enqueues `count` welcome emails on the BullMQ queue through the producer; resolves to their ids. */
async function enqueueOnBullmq(stack: LegacyStack, count: number): Promise<string[]> {
  const { campaign } = stack;
  const producer = await createJobProducer({
    kafka: stack.config.kafka,
    legacy: { ...stack.config.legacy, transport: "bullmq" },
  });
  try {
    return await producer.enqueueMany(Array.from({ length: count }, (_, i) => ({
      type: "job.email.welcome" as const,
      accountId: campaign.accountId,
      campaignId: campaign.campaignId,
      data: {
        type: "welcome" as const,
        campaign_id: campaign.campaignId,
        user_id: campaign.userIds[i % campaign.userIds.length]!,
        priority: 1,
      },
    })));
  } finally {
    await producer.disconnect();
  }
}

/** Adds legacy-shaped recalculation jobs; resolves to the event ids the bridge derives. */
async function addLegacyJobs(stack: LegacyStack, queue: Queue, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const job = await queue.add("job.position.recalculate", {
      account_id: stack.campaign.accountId,
      campaign_id: stack.campaign.campaignId,
      points_per_referral: 1 + i,
    });
    ids.push(await legacyEventId(job, { prefix: stack.config.legacy.prefix, queue: queue.name }));
  }
  return ids;
}

function bridge(stack: LegacyStack, options: Partial<BridgeOptions> = {}) {
  return runBridge({
    kafka: createKafkaClient(stack.config.kafka),
    topic: stack.config.kafka.topic,
    legacy: stack.config.legacy,
    queues: [stack.config.legacy.queue],
    batchSize: 7,
    ...options,
  });
}

function assertOnce(topic: Map<string, number>, ids: readonly string[]): void {
  const missing = ids.filter((id) => !topic.has(id));
  const doubled = [...topic].filter(([, count]) => count > 1);
  assert.deepEqual({ missing, doubled }, { missing: [], doubled: [] });
  assert.equal(topic.size, ids.length, "nothing else reached the topic");
}

Deno.test("bridge: moves waiting jobs once, a re-run sends nothing, invalid jobs are reported and kept", async () => {
  const stack = await legacyStack("legacy_bridge");
  const queue = stack.queue();
  try {
    const envelopes = await enqueueOnBullmq(stack, 30);
    const legacy = await addLegacyJobs(stack, queue, 12);
    const bad = await queue.add("job.email.welcome", {
      account_id: stack.campaign.accountId,
      campaign_id: stack.campaign.campaignId,
      user_id: 42,
    });
    const later = await queue.add("job.position.recalculate", {
      account_id: stack.campaign.accountId,
      campaign_id: stack.campaign.campaignId,
      points_per_referral: 9,
    }, { delay: 3_600_000 });
    const invalid: InvalidJob[] = [];

    const first = await bridge(stack, { onInvalid: (job) => invalid.push(job) }).done;
    assert.deepEqual(first, { total: 43, moved: 42, invalid: 1, recovered: 0 });
    assert.deepEqual(invalid.map((job) => job.jobId), [bad.id]);
    assert.match(invalid[0]!.reason, /field "data\.user_id"/);
    assertOnce(await eventIdsInTopic(stack.config), [...envelopes, ...legacy]);
    assert.deepEqual(await queue.getJobCounts("wait", "delayed"), { wait: 1, delayed: 1 });
    assert.equal(
      (await queue.getJob(bad.id!))?.data.user_id,
      42,
      "the invalid job is kept as it was",
    );

    const again = await bridge(stack).done;
    assert.deepEqual(again, { total: 1, moved: 0, invalid: 1, recovered: 0 });
    assertOnce(await eventIdsInTopic(stack.config), [...envelopes, ...legacy]);

    const delayed = await bridge(stack, { delayed: true }).done;
    assert.equal(delayed.moved, 1);
    const laterId = await legacyEventId(later, {
      prefix: stack.config.legacy.prefix,
      queue: queue.name,
    });
    assertOnce(await eventIdsInTopic(stack.config), [...envelopes, ...legacy, laterId]);
  } finally {
    await stack.close();
  }
});

Deno.test("bridge: a run that dies after a batch reached Kafka, before its jobs left Redis, is finished by the next run without a duplicate", async () => {
  const stack = await legacyStack("legacy_bridge_crash");
  try {
    const ids = await enqueueOnBullmq(stack, 40);
    let batches = 0;
    const crashed = bridge(stack, {
      afterSend: () => {
        if (++batches === 3) throw new Error("simulated crash between send and removal");
        return Promise.resolve();
      },
    });
    await assert.rejects(crashed.done, /simulated crash/);
    assert.equal(crashed.progress.moved, 14);
    const redis = createRedisClient(stack.config.legacy);
    const journal = await redis.get(journalKey(stack.config.legacy.prefix, "jobs"));
    redis.disconnect();
    assert.ok(journal, "the crashed run left its journal");
    assert.equal((await eventIdsInTopic(stack.config)).size, 21, "3 batches reached Kafka");

    const rerun = await bridge(stack).done;
    assert.equal(rerun.recovered, 7, "the third batch was found in Kafka and removed");
    assert.equal(rerun.moved, 19);
    assertOnce(await eventIdsInTopic(stack.config), ids);
    assert.deepEqual(await stack.queue().getJobCounts("wait"), { wait: 0 });
  } finally {
    await stack.close();
  }
});

Deno.test("bridge CLI killed with SIGKILL mid-run, twice: the re-run completes, nothing lost or doubled, the invalid job listed and kept", async () => {
  const stack = await legacyStack("legacy_bridge_kill");
  const queue = stack.queue();
  const outputs: string[] = [];
  const spawn = () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--config", CONFIG, BRIDGE, "--batch-size", "25"],
      env: { ...stack.env, LOG_LEVEL: "warning" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = Promise.all([child.stdout, child.stderr].map((s) => new Response(s).text()))
      .then(([stdout, stderr]) => {
        outputs.push(`${stdout}${stderr}`);
        return { stdout: stdout!, stderr: stderr! };
      });
    return { child, output };
  };
  try {
    const bad = await queue.add("send-sms", { account_id: stack.campaign.accountId });
    const ids = await enqueueOnBullmq(stack, 1_500);
    for (const remaining of [1_300, 700]) {
      const run = spawn();
      try {
        await waitUntil(
          async () => (await queue.getJobCounts("wait")).wait! <= remaining,
          `the bridge to move jobs (${remaining} left)`,
          60_000,
        );
      } finally {
        run.child.kill("SIGKILL");
        await run.child.status;
        await run.output;
      }
    }
    assert.ok((await queue.getJobCounts("wait")).wait! > 1, "killed too late: everything moved");
    const last = spawn();
    const status = await last.child.status;
    const { stdout, stderr } = await last.output;
    assert.equal(status.code, 1, `exit 1 while an invalid job is left:\n${stderr}`);
    assert.match(stderr, /: \d+ of \d+ moved \(100%\), 1 invalid, \d+ jobs\/s/);
    assert.match(stderr, /1 invalid job\(s\) left in Redis/);
    assert.match(stdout, new RegExp(`job ${bad.id} \\(send-sms\\): .*BULLMQ_JOB_NAMES`));
    assertOnce(await eventIdsInTopic(stack.config), ids);
    assert.deepEqual(await queue.getJobCounts("wait"), { wait: 1 });
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${outputs.join("\n---\n").slice(-4_000)}`, {
      cause: error,
    });
  } finally {
    await stack.close();
  }
});
