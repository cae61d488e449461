import assert from "node:assert/strict";
import { createJobProducer } from "../../src/producer/mod.ts";
import { JobDecodeError } from "../../src/jobs/mod.ts";
import { startLegacyWorker } from "../../src/legacy/mod.ts";
import { runWorker } from "../../src/worker/mod.ts";
import { committedTotal, waitUntil } from "./fixtures/worker_harness.ts";
import { eventIdsInTopic, legacyStack } from "./_legacy_fixture.ts";

Deno.test("a job sent to both transports runs once: one email, one reward delivery", async () => {
  const stack = await legacyStack("legacy_both");
  const { campaign } = stack;
  const kafkaSide = stack.handlers();
  const legacySide = stack.handlers();
  const legacy = { ...stack.config.legacy, transport: "both" as const };
  const producer = await createJobProducer({ kafka: stack.config.kafka, legacy });
  const worker = await runWorker({
    config: stack.config,
    handlers: kafkaSide.handlers,
  });
  const legacyWorker = await startLegacyWorker({
    config: stack.config,
    handlers: legacySide.handlers,
  });
  try {
    const ids = [
      await producer.enqueueEmailJob({
        emailKind: "welcome",
        accountId: campaign.accountId,
        campaignId: campaign.campaignId,
        userId: campaign.userIds[0]!,
      }),
      await producer.enqueueRewardDeliveryJob({
        accountId: campaign.accountId,
        campaignId: campaign.campaignId,
        userRewardId: campaign.userRewardIds[0]!,
      }),
      await producer.enqueuePositionRecalcJob({
        accountId: campaign.accountId,
        campaignId: campaign.campaignId,
        pointsPerReferral: 3,
      }),
    ];
    const queue = stack.queue();
    await waitUntil(
      async () => (await queue.getJobCounts("completed")).completed === 3,
      "the legacy worker to complete its 3 jobs",
    ).catch(async (error) => {
      const jobs = await queue.getJobs(["failed", "active", "wait", "delayed", "completed"]);
      throw new Error(
        `${error.message}: ${
          JSON.stringify(jobs.map((job) => [job.name, job.failedReason, job.finishedOn]))
        } ${JSON.stringify(await queue.getJobCounts())}`,
      );
    });
    await waitUntil(
      async () => await committedTotal(stack.config) === 3,
      "the Kafka worker to commit its 3 jobs",
    );
    const topic = await eventIdsInTopic(stack.config);
    assert.deepEqual([...topic.keys()].sort(), [...ids].sort(), "each event is once in Kafka");
    const inRedis = await queue.getJobs(["completed"]);
    assert.deepEqual(inRedis.map((job) => job.id).sort(), [...ids].sort(), "and once in Redis");

    // The welcome email and the reward's email went out once each.
    await stack.smtp.waitForMessages(2);
    const subjects = stack.smtp.messages.map((mail) => mail.subject);
    assert.equal(subjects.length, 2, `two emails, got: ${subjects.join(" | ")}`);
    assert.equal(subjects.filter((subject) => subject.startsWith("Welcome")).length, 1);
    assert.equal(subjects.filter((subject) => subject.includes("reward")).length, 1);
    const [deliveries] = await stack.db.sql<{ count: number }[]>`
      select count(*)::int as count from email_deliveries where event_id = ${ids[0]!}
    `;
    assert.equal(deliveries!.count, 1);
    const [reward] = await stack.db.sql<{ status: string }[]>`
      select status from user_rewards where id = ${campaign.userRewardIds[0]!}
    `;
    assert.equal(reward!.status, "delivered");
    const ledger = await stack.db.sql<{ event_id: string }[]>`
      select event_id from processed_events where event_id = any(${ids.slice(1)}::uuid[])
    `;
    assert.equal(ledger.length, 2, "recalculation and reward delivery recorded once each");
  } finally {
    await legacyWorker.stop();
    await worker.stop();
    await producer.disconnect();
    kafkaSide.close();
    legacySide.close();
    await stack.close();
  }
});

Deno.test("routing by type: emails to BullMQ, the rest to Kafka; an invalid job is sent nowhere", async () => {
  const stack = await legacyStack("legacy_route", {
    JOB_TRANSPORT: "kafka",
    JOB_TRANSPORT_BY_TYPE: "job.email.*=bullmq",
    BULLMQ_QUEUE_BY_TYPE: "job.email.*=emails",
  });
  const { campaign } = stack;
  const producer = await createJobProducer({
    kafka: stack.config.kafka,
    legacy: stack.config.legacy,
  });
  try {
    const email = await producer.enqueueEmailJob({
      emailKind: "welcome",
      accountId: campaign.accountId,
      campaignId: campaign.campaignId,
      userId: campaign.userIds[0]!,
    });
    const recalc = await producer.enqueuePositionRecalcJob({
      accountId: campaign.accountId,
      campaignId: campaign.campaignId,
      pointsPerReferral: 2,
    });
    await assert.rejects(
      producer.enqueueMany([
        {
          type: "job.email.welcome",
          accountId: campaign.accountId,
          campaignId: campaign.campaignId,
          data: { type: "welcome", campaign_id: campaign.campaignId, user_id: "nope", priority: 1 },
        },
      ]),
      (error) => error instanceof JobDecodeError && error.field === "data.user_id",
    );
    const emails = await stack.queue("emails").getJobs(["wait"]);
    assert.deepEqual(emails.map((job) => [job.id, job.name]), [[email, "job.email.welcome"]]);
    assert.equal(emails[0]!.data.id, email, "the job's data is the envelope");
    assert.deepEqual(await stack.queue("jobs").getJobCounts("wait"), { wait: 0 });
    assert.deepEqual([...(await eventIdsInTopic(stack.config)).keys()], [recalc]);
  } finally {
    await producer.disconnect();
    await stack.close();
  }
});
