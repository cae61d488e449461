import assert from "node:assert/strict";
import { seedCampaign, type Sql } from "../../src/db/mod.ts";
import { handlePositionRecalculation } from "../../src/handlers/positions/mod.ts";
import type { HandlerDeps } from "../../src/handlers/mod.ts";
import { createJobEvent, type JobType, type NewJobEvent } from "../../src/jobs/mod.ts";
import type { Mailer } from "../../src/mail/mod.ts";
import { migratedDatabase } from "./_database_fixture.ts";
import { handlerContext, mailConfigFrom } from "./_handler_fixture.ts";

const noMail: Mailer = {
  send: () => Promise.reject(new Error("No mail expected in position tests")),
  verify: () => Promise.resolve(),
  close: () => {},
};

const context = () => handlerContext("positions");

function deps(sql: Sql, extra: Partial<HandlerDeps> & { env?: Record<string, string> } = {}) {
  const config = mailConfigFrom(extra.env ?? {});
  const { env: _env, ...rest } = extra;
  return { sql, mailer: noMail, config, ...rest } satisfies HandlerDeps;
}

function recalcJob(campaign: { id: string; accountId: string }, points: number, id?: string) {
  return createJobEvent({
    type: "job.position.recalculate",
    accountId: campaign.accountId,
    campaignId: campaign.id,
    data: { campaign_id: campaign.id, points_per_referral: points },
    ...(id ? { id } : {}),
  });
}

/** A hand-made campaign: users 1..n by original position, referrals as [referrer, referred, status]. */
async function handMadeCampaign(
  sql: Sql,
  options: {
    users: number;
    referrals: [number, number, "pending" | "verified"][];
    positions?: number[];
    verifiedEmails?: boolean;
  },
): Promise<{ id: string; accountId: string; userIds: string[] }> {
  const accountId = crypto.randomUUID();
  const [campaign] = await sql<{ id: string }[]>`
    insert into campaigns (account_id, name) values (${accountId}, 'Hand made') returning id
  `;
  const id = campaign!.id;
  const userIds: string[] = [];
  for (let original = 1; original <= options.users; original++) {
    const [user] = await sql<{ id: string }[]>`
      insert into waitlist_users
        (campaign_id, email, original_position, position, referral_code, email_verified_at)
      values (${id}, ${`u${original}@example.com`}, ${original},
        ${options.positions?.[original - 1] ?? original}, ${`${id.slice(0, 8)}-${original}`},
        ${options.verifiedEmails === false ? null : new Date()})
      returning id
    `;
    userIds.push(user!.id);
  }
  for (const [referrer, referred, status] of options.referrals) {
    await sql`
      insert into referrals (campaign_id, referrer_id, referred_id, status, verified_at)
      values (${id}, ${userIds[referrer - 1]!}, ${userIds[referred - 1]!}, ${status},
        ${status === "verified" ? new Date() : null})
    `;
  }
  return { id, accountId, userIds };
}

/** Positions by original position (index 0 = original position 1). */
async function positions(sql: Sql, campaignId: string): Promise<number[]> {
  const rows = await sql<{ position: number }[]>`
    select position from waitlist_users where campaign_id = ${campaignId}
    order by original_position
  `;
  return rows.map((row) => row.position);
}

/** The reference ranking, computed in memory from the same rows. */
async function referencePositions(
  sql: Sql,
  campaignId: string,
  points: number,
): Promise<Map<string, number>> {
  const users = await sql<{ id: string; original_position: number }[]>`
    select id, original_position from waitlist_users where campaign_id = ${campaignId}
  `;
  const referrals = await sql<{ referrer_id: string; status: string }[]>`
    select referrer_id, status from referrals where campaign_id = ${campaignId}
  `;
  const verified = new Map<string, number>();
  for (const referral of referrals) {
    if (referral.status !== "verified") continue;
    verified.set(referral.referrer_id, (verified.get(referral.referrer_id) ?? 0) + 1);
  }
  const scored = users.map((user) => ({
    id: user.id,
    original: user.original_position,
    score: user.original_position - (verified.get(user.id) ?? 0) * points,
  }));
  scored.sort((a, b) => a.score - b.score || a.original - b.original);
  return new Map(scored.map((user, index) => [user.id, index + 1]));
}

Deno.test("position recalculation", async (t) => {
  const db = await migratedDatabase("handlers_positions", { poolMax: 8 });
  const { sql } = db;
  try {
    await t.step("no referrals: positions equal original positions", async () => {
      const campaign = await handMadeCampaign(sql, {
        users: 4,
        referrals: [],
        positions: [4, 3, 2, 1],
      });
      const outcome = await handlePositionRecalculation(
        deps(sql),
        recalcJob(campaign, 1),
        context(),
      );
      assert.deepEqual(outcome, { status: "recalculated", users: 4, changed: 4, notified: 0 });
      assert.deepEqual(await positions(sql, campaign.id), [1, 2, 3, 4]);
    });

    await t.step("ties on score go to the earlier original position", async () => {
      // points 2: user 5 with one verified referral scores 3, like user 3.
      const campaign = await handMadeCampaign(sql, { users: 6, referrals: [[5, 6, "verified"]] });
      await handlePositionRecalculation(deps(sql), recalcJob(campaign, 2), context());
      assert.deepEqual(await positions(sql, campaign.id), [1, 2, 3, 5, 4, 6]);
    });

    await t.step(
      "points larger than the original position go below zero and still rank",
      async () => {
        // points 10: user 2 scores -8, user 4 scores -6.
        const campaign = await handMadeCampaign(sql, {
          users: 6,
          referrals: [[4, 5, "verified"], [2, 6, "verified"]],
        });
        await handlePositionRecalculation(deps(sql), recalcJob(campaign, 10), context());
        assert.deepEqual(await positions(sql, campaign.id), [3, 1, 4, 2, 5, 6]);
      },
    );

    await t.step("pending referrals are ignored", async () => {
      const campaign = await handMadeCampaign(sql, {
        users: 5,
        referrals: [[5, 1, "pending"], [5, 2, "pending"], [4, 3, "verified"]],
      });
      await handlePositionRecalculation(deps(sql), recalcJob(campaign, 1), context());
      // user 4 scores 3 and ties with user 3, who joined earlier; user 5 stays last.
      assert.deepEqual(await positions(sql, campaign.id), [1, 2, 3, 4, 5]);
      await sql`
        update referrals set status = 'verified', verified_at = now()
        where referrer_id = ${campaign.userIds[4]!}
      `;
      await handlePositionRecalculation(deps(sql), recalcJob(campaign, 1), context());
      // user 5 now scores 5 - 2 = 3, ties with 3 and 4: order 3, 4, 5 by original.
      assert.deepEqual(await positions(sql, campaign.id), [1, 2, 3, 4, 5]);
      await handlePositionRecalculation(deps(sql), recalcJob(campaign, 2), context());
      // points 2: scores 1, 2, 3, 2, 1 → order 1, 5, 2, 4, 3.
      assert.deepEqual(await positions(sql, campaign.id), [1, 3, 5, 4, 2]);
    });

    await t.step("only rows whose position changed are written", async () => {
      // points 2: user 6 scores 4, ties with user 4 and passes user 5.
      const campaign = await handMadeCampaign(sql, { users: 8, referrals: [[6, 8, "verified"]] });
      const before = await sql<{ original_position: number; xmin: string }[]>`
        select original_position, xmin::text from waitlist_users
        where campaign_id = ${campaign.id} order by original_position
      `;
      const outcome = await handlePositionRecalculation(
        deps(sql),
        recalcJob(campaign, 2),
        context(),
      );
      assert.equal(outcome.status, "recalculated");
      assert.equal(outcome.status === "recalculated" && outcome.changed, 2);
      const after = await sql<{ original_position: number; xmin: string }[]>`
        select original_position, xmin::text from waitlist_users
        where campaign_id = ${campaign.id} order by original_position
      `;
      const rewritten = after.filter((row, i) => row.xmin !== before[i]!.xmin)
        .map((row) => row.original_position);
      assert.deepEqual(rewritten, [5, 6]);
      assert.deepEqual(await positions(sql, campaign.id), [1, 2, 3, 4, 6, 5, 7, 8]);
    });

    await t.step("random campaigns match the reference implementation", async () => {
      for (let round = 0; round < 6; round++) {
        const users = 20 + Math.floor(Math.random() * 400);
        const points = Math.floor(Math.random() * 6);
        const seeded = await seedCampaign(sql, {
          users,
          referrerShare: Math.random() * 0.5,
          maxReferralsPerReferrer: 1 + Math.floor(Math.random() * 5),
          pointsPerReferral: points,
          randomSeed: Math.random() * 2 - 1,
        });
        const campaign = { id: seeded.campaignId, accountId: seeded.accountId };
        await handlePositionRecalculation(deps(sql), recalcJob(campaign, points), context());
        const expected = await referencePositions(sql, campaign.id, points);
        const rows = await sql<{ id: string; position: number }[]>`
          select id, position from waitlist_users where campaign_id = ${campaign.id}
        `;
        const actual = new Map(rows.map((row) => [row.id, row.position]));
        assert.deepEqual(actual, expected, `round ${round}: ${users} users, ${points} points`);
        const sorted = [...actual.values()].sort((a, b) => a - b);
        assert.deepEqual(sorted, Array.from({ length: users }, (_, i) => i + 1));
      }
    });

    await t.step("a burst of recalculations does the work once", async () => {
      const seeded = await seedCampaign(sql, { users: 300, randomSeed: 0.1 });
      const campaign = { id: seeded.campaignId, accountId: seeded.accountId };
      const outcomes = await Promise.all(
        Array.from(
          { length: 6 },
          () => handlePositionRecalculation(deps(sql), recalcJob(campaign, 1), context()),
        ),
      );
      const statuses = outcomes.map((outcome) => outcome.status).sort();
      assert.deepEqual(statuses, [
        "recalculated",
        "up_to_date",
        "up_to_date",
        "up_to_date",
        "up_to_date",
        "up_to_date",
      ]);
      // A change in between makes the next job work again; other points too.
      const [someone] = await sql<{ id: string }[]>`
        select id from waitlist_users where campaign_id = ${campaign.id}
          and original_position = 300
      `;
      const [other] = await sql<{ id: string }[]>`
        select u.id from waitlist_users u where u.campaign_id = ${campaign.id}
          and not exists (select 1 from referrals r where r.referred_id = u.id)
          and u.id <> ${someone!.id}
        order by u.original_position limit 1
      `;
      await sql`
        insert into referrals (campaign_id, referrer_id, referred_id, status, verified_at)
        values (${campaign.id}, ${other!.id}, ${someone!.id}, 'verified', now())
      `;
      const again = await handlePositionRecalculation(deps(sql), recalcJob(campaign, 1), context());
      assert.equal(again.status, "recalculated");
      const idle = await handlePositionRecalculation(deps(sql), recalcJob(campaign, 1), context());
      assert.equal(idle.status, "up_to_date");
      const morePoints = await handlePositionRecalculation(
        deps(sql),
        recalcJob(campaign, 3),
        context(),
      );
      assert.equal(morePoints.status, "recalculated");
      const expected = await referencePositions(sql, campaign.id, 3);
      const rows = await sql<{ id: string; position: number }[]>`
        select id, position from waitlist_users where campaign_id = ${campaign.id}
      `;
      assert.deepEqual(new Map(rows.map((row) => [row.id, row.position])), expected);
    });

    await t.step("a redelivered event is a no-op", async () => {
      const campaign = await handMadeCampaign(sql, { users: 3, referrals: [] });
      const job = recalcJob(campaign, 1);
      assert.equal(
        (await handlePositionRecalculation(deps(sql), job, context())).status,
        "recalculated",
      );
      assert.equal(
        (await handlePositionRecalculation(deps(sql), job, context())).status,
        "duplicate",
      );
    });

    await t.step("improved users get one position email, without storms", async () => {
      // Users 6..10 each refer one verified friend; with 5 points they jump ahead.
      const campaign = await handMadeCampaign(sql, {
        users: 20,
        referrals: [[6, 11, "verified"], [7, 12, "verified"], [20, 13, "verified"]],
      });
      await sql`update waitlist_users set email_verified_at = null where id = ${campaign
        .userIds[6]!}`;
      const enqueued: NewJobEvent<JobType>[] = [];
      let failNext = true;
      const enqueue = (jobs: readonly NewJobEvent<JobType>[]) => {
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error("Kafka is down"));
        }
        enqueued.push(...jobs);
        return Promise.resolve(jobs.map((job) => job.id ?? ""));
      };
      const env = {
        POSITION_UPDATE_MIN_IMPROVEMENT: "4",
        POSITION_UPDATE_MIN_INTERVAL_HOURS: "24",
      };
      const job = recalcJob(campaign, 5);
      await assert.rejects(
        handlePositionRecalculation(deps(sql, { enqueue, env }), job, context()),
        /Kafka is down/,
      );
      // Rolled back: nothing recalculated, nobody marked as notified.
      assert.deepEqual(
        await positions(sql, campaign.id),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      const outcome = await handlePositionRecalculation(
        deps(sql, { enqueue, env }),
        job,
        context(),
      );
      assert.equal(outcome.status === "recalculated" && outcome.notified, 2);
      // User 6 moved 6 → 1 and user 20 moved 20 → 15; user 7 is unverified.
      assert.deepEqual(
        enqueued.map((event) => event.data).map((data) => "user_id" in data && data.user_id).sort(),
        [campaign.userIds[5]!, campaign.userIds[19]!].sort(),
      );
      for (const event of enqueued) {
        assert.equal(event.type, "job.email.position_update");
        assert.equal(createJobEvent(event).id, event.id);
      }
      // A later improvement within the interval sends nothing more.
      await sql`
        insert into referrals (campaign_id, referrer_id, referred_id, status, verified_at)
        values (${campaign.id}, ${campaign.userIds[19]!}, ${campaign
        .userIds[13]!}, 'verified', now())
      `;
      const later = await handlePositionRecalculation(
        deps(sql, { enqueue, env }),
        recalcJob(campaign, 5),
        context(),
      );
      assert.equal(later.status === "recalculated" && later.notified, 0);
      assert.equal(enqueued.length, 2);
    });

    await t.step("the event's points become the campaign's; a late event's do not", async () => {
      // User 3 refers user 1: with 2 points, user 3 scores 1 and ties with user 1.
      const campaign = await handMadeCampaign(sql, { users: 3, referrals: [[3, 1, "verified"]] });
      const late = createJobEvent({
        type: "job.position.recalculate",
        accountId: campaign.accountId,
        campaignId: campaign.id,
        data: { campaign_id: campaign.id, points_per_referral: 0 },
        timestamp: new Date(Date.now() - 60_000),
      });
      const pointsSetting = async () => {
        const [row] = await sql<{ points_per_referral: number }[]>`
          select points_per_referral from campaigns where id = ${campaign.id}
        `;
        return row?.points_per_referral;
      };
      await handlePositionRecalculation(deps(sql), recalcJob(campaign, 2), context());
      assert.deepEqual(await positions(sql, campaign.id), [1, 3, 2]);
      assert.equal(await pointsSetting(), 2, "emails read the points the ranking used");
      // Created before the setting changed: it cannot bring back older points.
      await handlePositionRecalculation(deps(sql), late, context());
      assert.deepEqual(await positions(sql, campaign.id), [1, 3, 2]);
      assert.equal(await pointsSetting(), 2);
      // The application changes the setting itself: a recalculation ranks with it.
      await sql`update campaigns set points_per_referral = 0 where id = ${campaign.id}`;
      await handlePositionRecalculation(deps(sql), { ...late, id: crypto.randomUUID() }, context());
      assert.deepEqual(await positions(sql, campaign.id), [1, 2, 3]);
    });

    await t.step(
      "a setting is never stamped in the future, so a skewed clock freezes nothing",
      async () => {
        const campaign = await handMadeCampaign(sql, { users: 3, referrals: [[3, 1, "verified"]] });
        // Within the allowed clock skew (4 minutes ahead): valid, but stamped no later than now.
        const ahead = createJobEvent({
          type: "job.position.recalculate",
          accountId: campaign.accountId,
          campaignId: campaign.id,
          data: { campaign_id: campaign.id, points_per_referral: 2 },
          timestamp: new Date(Date.now() + 240_000),
        });
        await handlePositionRecalculation(deps(sql), ahead, context());
        const [row] = await sql<{ future: boolean }[]>`
        select points_per_referral_set_at > now() as future from campaigns where id = ${campaign.id}
      `;
        assert.equal(row?.future, false);
        // An event created a moment later still changes the points.
        const next = createJobEvent({
          type: "job.position.recalculate",
          accountId: campaign.accountId,
          campaignId: campaign.id,
          data: { campaign_id: campaign.id, points_per_referral: 0 },
          timestamp: new Date(Date.now() + 1_000),
        });
        await handlePositionRecalculation(deps(sql), next, context());
        assert.deepEqual(await positions(sql, campaign.id), [1, 2, 3]);
      },
    );

    await t.step("an unknown campaign is permanent", async () => {
      const campaign = { id: crypto.randomUUID(), accountId: crypto.randomUUID() };
      await assert.rejects(
        handlePositionRecalculation(deps(sql), recalcJob(campaign, 1), context()),
        { name: "PermanentJobError", message: /unknown campaign/ },
      );
    });
  } finally {
    await db.drop();
  }
});
