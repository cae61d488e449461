import assert from "node:assert/strict";
import type { MailConfig } from "../../src/config/mod.ts";
import type { Sql } from "../../src/db/mod.ts";
import { verifyVerificationToken } from "../../src/handlers/email/mod.ts";
import {
  createJobHandlers,
  type HandlerContext,
  type HandlerDeps,
} from "../../src/handlers/mod.ts";
import {
  createJobEvent,
  EMAIL_KINDS,
  type EmailKind,
  LeaseHeldError,
  PermanentJobError,
} from "../../src/jobs/mod.ts";
import { createSmtpMailer, type Mailer } from "../../src/mail/mod.ts";
import { type CapturedMail, type SmtpCatcher, startSmtp } from "../env/smtp.ts";
import { migratedDatabase } from "./_database_fixture.ts";
import { handlerContext, mailConfigFrom } from "./_handler_fixture.ts";

const SECRET = "test-verification-secret-0123456789";
const HOSTILE_CAMPAIGN = `Launch <b>"Rocket"</b> & Co`;

function mailConfig(env: Record<string, string>): MailConfig {
  return mailConfigFrom({
    APP_BASE_URL: "https://app.example.test/",
    VERIFICATION_SECRET: SECRET,
    SMTP_FROM: '"Jobpool" <no-reply@jobpool.test>',
    ...env,
  });
}

const context = (signal?: AbortSignal) => handlerContext("email", signal);

interface Fixture {
  campaignId: string;
  accountId: string;
  /** Alice: position 2 (joined 5th), 5 verified and 1 pending referrals, not verified. */
  alice: string;
  /** Bob: verified, no referrals, a delivered reward. */
  bob: string;
}

/** A campaign with a hostile name, Alice with referrals, Bob with a reward. */
async function fixture(sql: Sql): Promise<Fixture> {
  const accountId = crypto.randomUUID();
  const [campaign] = await sql<{ id: string }[]>`
    insert into campaigns (account_id, name, points_per_referral)
    values (${accountId}, ${HOSTILE_CAMPAIGN}, 1) returning id
  `;
  const campaignId = campaign!.id;
  const ids: string[] = [];
  for (let original = 1; original <= 12; original++) {
    const [user] = await sql<{ id: string }[]>`
      insert into waitlist_users
        (campaign_id, email, name, original_position, position, referral_code, email_verified_at)
      values (${campaignId}, ${
      original === 5 ? "alice@example.test" : `user${original}@example.test`
    },
        ${original === 5 ? "Alice <script>" : null}, ${original}, ${original === 5 ? 2 : original},
        ${`code ${campaignId.slice(0, 6)}/${original}`}, ${original === 5 ? null : new Date()})
      returning id
    `;
    ids.push(user!.id);
  }
  const alice = ids[4]!;
  for (let referred = 6; referred <= 11; referred++) {
    await sql`
      insert into referrals (campaign_id, referrer_id, referred_id, status, verified_at)
      values (${campaignId}, ${alice}, ${ids[referred - 1]!},
        ${referred === 11 ? "pending" : "verified"}, ${referred === 11 ? null : new Date()})
    `;
  }
  const bob = ids[0]!;
  const [reward] = await sql<{ id: string }[]>`
    insert into rewards (campaign_id, name, description)
    values (${campaignId}, 'Sticker <pack>', 'Five stickers & a badge.') returning id
  `;
  await sql`
    insert into user_rewards (user_id, reward_id, status, delivered_at)
    values (${bob}, ${reward!.id}, 'delivered', now())
  `;
  return { campaignId, accountId, alice, bob };
}

function emailJob(fx: Fixture, kind: EmailKind, userId: string, id?: string) {
  return createJobEvent({
    type: `job.email.${kind}`,
    accountId: fx.accountId,
    campaignId: fx.campaignId,
    data: { type: kind, campaign_id: fx.campaignId, user_id: userId, priority: 5 },
    ...(id ? { id } : {}),
  });
}

/** Runs the handler of a job through the `JobHandlers` record, as the worker does. */
async function run(deps: HandlerDeps, job: ReturnType<typeof emailJob>): Promise<void> {
  const handlers = createJobHandlers(deps);
  const handler = handlers[job.type] as (j: typeof job, c: HandlerContext) => Promise<void>;
  await handler(job, context());
}

/** Checks the email of each kind: recipient, subject, body, link and escaping. */
async function checkEveryKind(
  deps: HandlerDeps,
  sql: Sql,
  catcher: SmtpCatcher,
  secure: boolean,
): Promise<void> {
  const fx = await fixture(sql);
  const expectations: Record<EmailKind, { user: string; subject: RegExp; text: RegExp[] }> = {
    verification: {
      user: fx.alice,
      subject: /^Confirm your email for Launch <b>"Rocket"<\/b> & Co$/,
      text: [
        /Hi Alice <script>,/,
        /Confirm my email: https:\/\/app\.example\.test\/verify\?token=/,
      ],
    },
    welcome: {
      user: fx.alice,
      subject: /^Welcome to Launch <b>"Rocket"<\/b> & Co: you are #2 on the waitlist$/,
      text: [/at position #2\./, /Your referral link: https:\/\/app\.example\.test\/r\/code%20/],
    },
    position_update: {
      user: fx.alice,
      subject: /^You moved up to #2 on Launch/,
      text: [/you are now #2 .* 3 places ahead of where you joined \(#5\)/],
    },
    reward_earned: {
      user: fx.bob,
      subject: /^You earned a reward on Launch <b>"Rocket"<\/b> & Co: Sticker <pack>$/,
      text: [/You earned Sticker <pack>/, /Five stickers & a badge\./, /You are #1 /],
    },
    milestone: {
      user: fx.alice,
      subject: /^Milestone reached on Launch .*: 5 verified referrals$/,
      text: [/5 verified referrals confirmed/, /Next milestone: 10 verified referrals\./],
    },
  };
  const before = catcher.messages.length;
  for (const kind of EMAIL_KINDS) {
    const { user, subject, text } = expectations[kind];
    const job = emailJob(fx, kind, user);
    await run(deps, job);
    const messages = await catcher.waitForMessages(before + EMAIL_KINDS.indexOf(kind) + 1);
    const mail = messages.at(-1) as CapturedMail;
    assert.equal(mail.secure, secure, kind);
    assert.deepEqual(mail.to, [user === fx.alice ? "alice@example.test" : "user1@example.test"]);
    assert.equal(mail.from, "no-reply@jobpool.test");
    assert.match(mail.subject, subject, kind);
    for (const pattern of text) assert.match(mail.text, pattern, kind);
    assert.equal(mail.headers.get("x-jobpool-event"), job.id);
    const html = mail.html ?? "";
    assert.ok(!html.includes("<script>"), `${kind}: the HTML part must escape user data`);
    assert.ok(!html.includes('<b>"Rocket"'), `${kind}: the campaign name must be escaped`);
    if (html.includes("Launch")) {
      assert.ok(html.includes("Launch &lt;b&gt;&quot;Rocket&quot;&lt;/b&gt; &amp; Co"), kind);
    }
    const [ledger] = await sql<{ status: string; smtp_message_id: string; recipient: string }[]>`
      select status, smtp_message_id, recipient from email_deliveries
      where dedupe_key = ${`event:${job.id}`}
    `;
    assert.deepEqual(ledger, {
      status: "sent",
      smtp_message_id: mail.messageId,
      recipient: mail.to[0],
    });
    if (kind === "verification") {
      const href = html.match(/href="([^"]+verify[^"]+)"/)?.[1]?.replaceAll("&amp;", "&");
      assert.ok(href, "the HTML part links to the verification page");
      const token = new URL(href).searchParams.get("token") ?? "";
      const claims = await verifyVerificationToken(token, { secret: SECRET });
      assert.equal(claims.userId, fx.alice);
      assert.equal(claims.email, "alice@example.test");
      assert.ok(claims.expiresAt.getTime() > Date.now() + 47 * 3_600_000);
      await assert.rejects(
        verifyVerificationToken(token, { secret: "another-secret-0123456789" }),
        /bad signature/,
      );
      await assert.rejects(
        verifyVerificationToken(token, {
          secret: SECRET,
          now: new Date(Date.now() + 49 * 3_600_000),
        }),
        /expired/,
      );
      assert.ok(mail.text.includes(href), "text and HTML carry the same link");
    }
  }
}

Deno.test("email jobs", async (t) => {
  const db = await migratedDatabase("handlers_email", { poolMax: 5 });
  const { sql } = db;
  const catcher = await startSmtp();
  const config = mailConfig({ SMTP_URL: catcher.url, SMTP_STARTTLS: "off" });
  const mailer = createSmtpMailer({ smtp: config.smtp, from: config.from });
  const deps: HandlerDeps = { sql, mailer, config };
  try {
    await t.step("every kind over plain SMTP", async () => {
      await checkEveryKind(deps, sql, catcher, false);
    });

    await t.step("a redelivered event sends no second email", async () => {
      const fx = await fixture(sql);
      const job = emailJob(fx, "welcome", fx.bob);
      const before = catcher.messages.length;
      await run(deps, job);
      await run(deps, job);
      await Promise.all([run(deps, job), run(deps, job)]);
      await catcher.waitForMessages(before + 1);
      assert.equal(catcher.messages.length, before + 1);
      const [row] = await sql<{ attempts: number; status: string }[]>`
        select attempts, status from email_deliveries where dedupe_key = ${`event:${job.id}`}
      `;
      assert.deepEqual(row, { attempts: 1, status: "sent" });

      // Two workers get the same new event at once: one sends, the other backs off.
      const twin = emailJob(fx, "welcome", fx.alice);
      const results = await Promise.allSettled([run(deps, twin), run(deps, twin)]);
      for (const result of results) {
        if (result.status === "rejected") assert.ok(result.reason instanceof LeaseHeldError);
      }
      await run(deps, twin);
      await catcher.waitForMessages(before + 2);
      assert.equal(catcher.messages.length, before + 2);
    });

    await t.step("a 4xx reply is retried, then the email goes out once", async () => {
      const fx = await fixture(sql);
      const job = emailJob(fx, "welcome", fx.bob);
      const before = catcher.messages.length;
      catcher.rejectNext(451, "Mailbox busy, try later");
      const error = await run(deps, job).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof Error, "the first attempt fails");
      assert.ok(!(error instanceof PermanentJobError), "a 4xx reply is not permanent");
      assert.match(error.message, /451/);
      await run(deps, job);
      await catcher.waitForMessages(before + 1);
      assert.equal(catcher.messages.length, before + 1);
      const [row] = await sql<{ attempts: number; status: string }[]>`
        select attempts, status from email_deliveries where dedupe_key = ${`event:${job.id}`}
      `;
      assert.deepEqual(row, { attempts: 2, status: "sent" });
    });

    await t.step("a 5xx reply is permanent and recorded", async () => {
      const fx = await fixture(sql);
      const job = emailJob(fx, "welcome", fx.bob);
      const before = catcher.messages.length;
      catcher.rejectNext(550, "No such mailbox");
      await assert.rejects(run(deps, job), (error: unknown) => {
        assert.ok(error instanceof PermanentJobError);
        assert.match(error.message, /SMTP 550.*No such mailbox.*user1@example\.test/);
        return true;
      });
      assert.equal(catcher.messages.length, before);
      const [row] = await sql<{ status: string; last_error: string }[]>`
        select status, last_error from email_deliveries where dedupe_key = ${`event:${job.id}`}
      `;
      assert.equal(row?.status, "failed");
      assert.match(row?.last_error ?? "", /550/);
      // Nothing was sent: the dead letter, replayed once the mailbox exists, sends it.
      await run(deps, job);
      const [replayed] = await sql<{ status: string }[]>`
        select status from email_deliveries where dedupe_key = ${`event:${job.id}`}
      `;
      assert.equal(replayed?.status, "sent");
      await catcher.waitForMessages(before + 1);
      assert.equal(catcher.messages.length, before + 1);
    });

    await t.step("an unknown user is permanent", async () => {
      const fx = await fixture(sql);
      await assert.rejects(run(deps, emailJob(fx, "welcome", crypto.randomUUID())), {
        name: "PermanentJobError",
        message: /unknown user/,
      });
    });

    await t.step("a reward email for a user without a reward is permanent, once", async () => {
      const fx = await fixture(sql);
      const job = emailJob(fx, "reward_earned", fx.alice);
      await assert.rejects(run(deps, job), { name: "PermanentJobError", message: /has no reward/ });
      const [row] = await sql<{ status: string }[]>`
        select status from email_deliveries where dedupe_key = ${`event:${job.id}`}
      `;
      assert.equal(row?.status, "failed");
      // Replayed while the user still has no reward: it fails the same way, sending nothing.
      await assert.rejects(run(deps, job), { name: "PermanentJobError", message: /has no reward/ });
    });

    await t.step("an unreachable SMTP server is retried", async () => {
      const fx = await fixture(sql);
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = listener.addr.port;
      listener.close();
      const downConfig = mailConfig({
        SMTP_URL: `smtp://127.0.0.1:${port}`,
        SMTP_STARTTLS: "off",
        SMTP_TIMEOUT_MS: "2000",
      });
      const down: Mailer = createSmtpMailer({ smtp: downConfig.smtp, from: downConfig.from });
      const job = emailJob(fx, "welcome", fx.bob);
      try {
        const error = await run({ ...deps, mailer: down }, job).then(() => undefined, (e) => e);
        assert.ok(error instanceof Error && !(error instanceof PermanentJobError), String(error));
      } finally {
        down.close();
      }
      const before = catcher.messages.length;
      await run(deps, job);
      await catcher.waitForMessages(before + 1);
    });

    await t.step("a send cut off by the job's signal is not repeated by the retry", async () => {
      const fx = await fixture(sql);
      const job = emailJob(fx, "welcome", fx.bob);
      const before = catcher.messages.length;
      const controller = new AbortController();
      // The job's deadline passes mid-send: the handler stops waiting, the message still goes out.
      const cutOff: Mailer = {
        ...mailer,
        send: (message, options) => {
          mailer.send(message).catch(() => {});
          controller.abort(new Error("Job deadline passed"));
          return Promise.reject(options?.signal?.reason);
        },
      };
      const handler = createJobHandlers({ ...deps, mailer: cutOff })[job.type] as (
        j: typeof job,
        c: HandlerContext,
      ) => Promise<void>;
      await assert.rejects(handler(job, context(controller.signal)), {
        message: "Job deadline passed",
      });
      await catcher.waitForMessages(before + 1);
      // The retry finds the claim held for one more SMTP timeout, and sends nothing.
      await assert.rejects(run(deps, job), LeaseHeldError);
      assert.equal(catcher.messages.length, before + 1);
      const [row] = await sql<{ status: string; last_error: string }[]>`
        select status, last_error from email_deliveries where dedupe_key = ${`event:${job.id}`}
      `;
      assert.deepEqual(row, { status: "sending", last_error: "Job deadline passed" });
    });

    await t.step(
      "a send whose outcome is unknown is resent after its hold, same Message-ID, announced",
      async () => {
        const fx = await fixture(sql);
        const job = emailJob(fx, "welcome", fx.bob);
        const before = catcher.messages.length;
        const quick = mailConfig({
          SMTP_URL: catcher.url,
          SMTP_STARTTLS: "off",
          SMTP_TIMEOUT_MS: "500",
          CLAIM_LEASE_MS: "1000",
        });
        const duplicates: string[] = [];
        const metrics = { emailPossibleDuplicate: (kind: string) => void duplicates.push(kind) };
        const controller = new AbortController();
        // The server takes the message, but the worker never hears back (cut off).
        const cutOff: Mailer = {
          ...mailer,
          send: (message, options) => {
            mailer.send(message).catch(() => {});
            controller.abort(new Error("Job deadline passed"));
            return Promise.reject(options?.signal?.reason);
          },
        };
        const handler = createJobHandlers({ ...deps, config: quick, mailer: cutOff })[job.type] as (
          j: typeof job,
          c: HandlerContext,
        ) => Promise<void>;
        await assert.rejects(handler(job, context(controller.signal)));
        await catcher.waitForMessages(before + 1);
        // Held one SMTP timeout (+5 s): then the next attempt sends again, and says so.
        await assert.rejects(run({ ...deps, config: quick, metrics }, job), LeaseHeldError);
        await new Promise((resolve) => setTimeout(resolve, 5_700));
        await run({ ...deps, config: quick, metrics }, job);
        await catcher.waitForMessages(before + 2);
        const [first, second] = catcher.messages.slice(before);
        assert.equal(first!.messageId, second!.messageId);
        assert.equal(first!.messageId, `<jobpool.event.${job.id}@jobpool.test>`);
        assert.deepEqual(duplicates, ["welcome"]);
      },
    );

    await t.step("nothing to say: verified users and milestones already announced", async () => {
      const fx = await fixture(sql);
      const before = catcher.messages.length;
      // Bob is verified: no verification email. Bob has no verified referral: no milestone.
      await run(deps, emailJob(fx, "verification", fx.bob));
      await run(deps, emailJob(fx, "milestone", fx.bob));
      // Alice's 5-referral milestone goes out once, whatever the number of events.
      await run(deps, emailJob(fx, "milestone", fx.alice));
      await run(deps, emailJob(fx, "milestone", fx.alice));
      await catcher.waitForMessages(before + 1);
      assert.equal(catcher.messages.length, before + 1);
      const statuses = await sql<{ status: string }[]>`
        select status from email_deliveries d join waitlist_users u on u.id = d.user_id
        where u.campaign_id = ${fx.campaignId} order by d.id
      `;
      assert.deepEqual(statuses.map((row) => row.status), [
        "skipped",
        "skipped",
        "sent",
        "skipped",
      ]);
    });
  } finally {
    mailer.close();
    await catcher.stop();
    await db.drop();
  }
});

Deno.test("email jobs over STARTTLS with a login", async () => {
  const db = await migratedDatabase("handlers_email_tls", { poolMax: 5 });
  const catcher = await startSmtp({ requireTLS: true, auth: { user: "mailer", pass: "s3cret" } });
  const config = mailConfig({
    SMTP_URL: catcher.url,
    SMTP_STARTTLS: "required",
    SMTP_TLS_REJECT_UNAUTHORIZED: "false",
    SMTP_POOL_SIZE: "2",
  });
  const mailer = createSmtpMailer({ smtp: config.smtp, from: config.from });
  try {
    await checkEveryKind({ sql: db.sql, mailer, config }, db.sql, catcher, true);
    assert.ok(catcher.messages.every((mail) => mail.user === "mailer"));
  } finally {
    mailer.close();
    await catcher.stop();
    await db.drop();
  }
});
