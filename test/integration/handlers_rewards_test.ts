import assert from "node:assert/strict";
import type { MailConfig } from "../../src/config/mod.ts";
import { seedCampaign } from "../../src/db/mod.ts";
import type { HandlerDeps } from "../../src/handlers/mod.ts";
import {
  handleRewardDelivery,
  type RewardDeliveryOutcome,
  signWebhook,
  WEBHOOK_HEADERS,
} from "../../src/handlers/rewards/mod.ts";
import { createJobEvent, LeaseHeldError, PermanentJobError } from "../../src/jobs/mod.ts";
import { createSmtpMailer } from "../../src/mail/mod.ts";
import { startSmtp } from "../env/smtp.ts";
import { migratedDatabase } from "./_database_fixture.ts";
import { handlerContext, mailConfigFrom } from "./_handler_fixture.ts";

const WEBHOOK_SECRET = "test-webhook-signing-secret-0123";

const context = () => handlerContext("rewards");

/** A webhook receiver that answers from a script of statuses (then 200) and records requests. */
function webhookReceiver() {
  const requests: { headers: Headers; body: string }[] = [];
  const script: number[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.text();
    requests.push({ headers: req.headers, body });
    return new Response(null, { status: script.shift() ?? 200 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hooks/rewards`,
    requests,
    answer(...statuses: number[]) {
      script.push(...statuses);
    },
    stop: () => server.shutdown(),
  };
}

function rewardJob(campaign: { campaignId: string; accountId: string }, userRewardId: string) {
  return createJobEvent({
    type: "job.reward.deliver",
    accountId: campaign.accountId,
    campaignId: campaign.campaignId,
    data: { user_reward_id: userRewardId },
  });
}

/** Runs a delivery the way a worker does: a LeaseHeldError is retried (here at once). */
async function deliverWithRetries(
  deps: HandlerDeps,
  job: ReturnType<typeof rewardJob>,
): Promise<RewardDeliveryOutcome> {
  for (let attempt = 1;; attempt++) {
    try {
      return await handleRewardDelivery(deps, job, context());
    } catch (error) {
      if (!(error instanceof LeaseHeldError) || attempt > 200) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

Deno.test("reward delivery", async (t) => {
  const db = await migratedDatabase("handlers_rewards", { poolMax: 10 });
  const { sql } = db;
  const catcher = await startSmtp();
  const receiver = webhookReceiver();
  const config: MailConfig = mailConfigFrom({
    SMTP_URL: catcher.url,
    SMTP_STARTTLS: "off",
    WEBHOOK_SIGNING_SECRET: WEBHOOK_SECRET,
    WEBHOOK_TIMEOUT_MS: "2000",
    WEBHOOK_ATTEMPTS: "3",
  });
  const mailer = createSmtpMailer({ smtp: config.smtp, from: config.from });
  const deps: HandlerDeps = { sql, mailer, config };
  const seeded = await seedCampaign(sql, {
    users: 200,
    pendingRewards: 8,
    rewardWebhookUrl: receiver.url,
  });
  const rewards = [...seeded.userRewardIds];
  const next = () => rewards.shift()!;
  const status = async (id: string) => {
    const [row] = await sql<
      {
        status: string;
        delivery_attempts: number;
        delivered_at: Date | null;
        last_error: string | null;
      }[]
    >`select status, delivery_attempts, delivered_at, last_error from user_rewards where id = ${id}`;
    return row!;
  };
  try {
    await t.step("delivers by signed webhook and email, and only once", async () => {
      const id = next();
      const job = rewardJob(seeded, id);
      const mails = catcher.messages.length;
      const hooks = receiver.requests.length;
      assert.deepEqual(await handleRewardDelivery(deps, job, context()), { status: "delivered" });
      assert.deepEqual(await handleRewardDelivery(deps, job, context()), {
        status: "already_delivered",
      });
      // Another event for the same reward delivers nothing more either.
      assert.deepEqual(await handleRewardDelivery(deps, rewardJob(seeded, id), context()), {
        status: "already_delivered",
      });
      const [mail] = (await catcher.waitForMessages(mails + 1)).slice(mails);
      assert.equal(catcher.messages.length, mails + 1);
      assert.match(mail!.subject, /^You earned a reward on Demo campaign: Early access$/);
      assert.match(mail!.text, /Skip the line/);
      assert.equal(receiver.requests.length, hooks + 1);
      const request = receiver.requests.at(-1)!;
      const timestamp = Number(request.headers.get(WEBHOOK_HEADERS.timestamp));
      assert.equal(
        request.headers.get(WEBHOOK_HEADERS.signature),
        await signWebhook(request.body, { secret: WEBHOOK_SECRET, timestamp }),
      );
      assert.equal(request.headers.get(WEBHOOK_HEADERS.delivery), id);
      const body = JSON.parse(request.body);
      assert.equal(body.type, "reward.delivered");
      assert.equal(body.user_reward_id, id);
      assert.equal(body.user.email, mail!.to[0]);
      const row = await status(id);
      assert.equal(row.status, "delivered");
      assert.equal(row.delivery_attempts, 1);
      assert.ok(row.delivered_at);
    });

    await t.step("concurrent duplicate events deliver once", async () => {
      const id = next();
      const mails = catcher.messages.length;
      const hooks = receiver.requests.length;
      const same = rewardJob(seeded, id);
      const jobs = [same, same, same, rewardJob(seeded, id), rewardJob(seeded, id)];
      const outcomes = await Promise.all(jobs.map((job) => deliverWithRetries(deps, job)));
      const delivered = outcomes.filter((outcome) => outcome.status === "delivered");
      assert.equal(delivered.length, 1, JSON.stringify(outcomes));
      assert.ok(
        outcomes.every((o) => o.status === "delivered" || o.status === "already_delivered"),
      );
      await catcher.waitForMessages(mails + 1);
      assert.equal(catcher.messages.length, mails + 1);
      assert.equal(receiver.requests.length, hooks + 1);
      assert.equal((await status(id)).delivery_attempts, 1);
    });

    await t.step("webhook 5xx is retried within the job, then delivered", async () => {
      const id = next();
      const hooks = receiver.requests.length;
      receiver.answer(503, 500);
      assert.deepEqual(await handleRewardDelivery(deps, rewardJob(seeded, id), context()), {
        status: "delivered",
      });
      assert.equal(receiver.requests.length, hooks + 3);
      const deliveries = receiver.requests.slice(hooks).map((r) =>
        r.headers.get(WEBHOOK_HEADERS.delivery)
      );
      assert.deepEqual(deliveries, [id, id, id]);
    });

    await t.step("a webhook down for the whole job: retried later, email sent once", async () => {
      const id = next();
      const job = rewardJob(seeded, id);
      const mails = catcher.messages.length;
      receiver.answer(502, 502, 502);
      const error = await handleRewardDelivery(deps, job, context()).then(
        () => undefined,
        (e) => e,
      );
      assert.ok(error instanceof Error && !(error instanceof PermanentJobError), String(error));
      assert.equal((await status(id)).status, "pending");
      assert.equal(catcher.messages.length, mails, "no email before the webhook succeeded");
      assert.deepEqual(await handleRewardDelivery(deps, job, context()), { status: "delivered" });
      await catcher.waitForMessages(mails + 1);
      assert.equal(catcher.messages.length, mails + 1);
      assert.equal((await status(id)).delivery_attempts, 2);
    });

    await t.step("email 4xx after the webhook: the retry does not post it again", async () => {
      const id = next();
      const job = rewardJob(seeded, id);
      const hooks = receiver.requests.length;
      const mails = catcher.messages.length;
      catcher.rejectNext(421, "Too busy");
      await assert.rejects(handleRewardDelivery(deps, job, context()), /421/);
      assert.deepEqual(await handleRewardDelivery(deps, job, context()), { status: "delivered" });
      assert.equal(receiver.requests.length, hooks + 1);
      await catcher.waitForMessages(mails + 1);
      assert.equal(catcher.messages.length, mails + 1);
    });

    await t.step("a webhook 4xx fails the reward for good", async () => {
      const id = next();
      receiver.answer(410);
      await assert.rejects(handleRewardDelivery(deps, rewardJob(seeded, id), context()), {
        name: "PermanentJobError",
        message: /HTTP 410/,
      });
      const row = await status(id);
      assert.equal(row.status, "failed");
      assert.match(row.last_error ?? "", /HTTP 410/);
      await assert.rejects(handleRewardDelivery(deps, rewardJob(seeded, id), context()), {
        name: "PermanentJobError",
        message: /failed before/,
      });
    });

    await t.step("a replayed reward whose email failed for good sends the email", async () => {
      const id = next();
      const job = rewardJob(seeded, id);
      const mails = catcher.messages.length;
      catcher.rejectNext(550, "Mailbox unavailable");
      await assert.rejects(handleRewardDelivery(deps, job, context()), PermanentJobError);
      assert.equal((await status(id)).status, "failed");
      // The operator fixes the mailbox, sets the reward back to pending and replays the event.
      await sql`update user_rewards set status = 'pending' where id = ${id}`;
      assert.deepEqual(await handleRewardDelivery(deps, job, context()), { status: "delivered" });
      const [row] = await sql<{ email_sent_at: Date | null }[]>`
        select email_sent_at from user_rewards where id = ${id}
      `;
      assert.ok(row?.email_sent_at, "the reward is delivered with its email");
      await catcher.waitForMessages(mails + 1);
      assert.equal(catcher.messages.length, mails + 1);
    });

    await t.step("an unknown user reward is permanent", async () => {
      await assert.rejects(
        handleRewardDelivery(deps, rewardJob(seeded, crypto.randomUUID()), context()),
        { name: "PermanentJobError", message: /unknown user reward/ },
      );
    });
  } finally {
    mailer.close();
    await receiver.stop();
    await catcher.stop();
    await db.drop();
  }
});
