import assert from "node:assert/strict";
import { createSmtpMailer, type Mailer, MailSendError } from "../../src/mail/mod.ts";
import { type CapturedMail, startSmtp } from "../env/smtp.ts";
import { mailConfigFrom } from "./_handler_fixture.ts";

/** Sends `count` distinct messages at once through `mailer`. */
function sendMany(mailer: Mailer, count: number): Promise<unknown[]> {
  return Promise.all(Array.from({ length: count }, (_, i) =>
    mailer.send({
      to: `user${i}@example.test`,
      subject: `Message ${i}`,
      text: `Body ${i}`,
      html: `<p>Body ${i}</p>`,
    })));
}

/** How many messages each SMTP connection carried. */
function perConnection(messages: readonly CapturedMail[]): number[] {
  const counts = new Map<string, number>();
  for (const mail of messages) counts.set(mail.connection, (counts.get(mail.connection) ?? 0) + 1);
  return [...counts.values()];
}

Deno.test("the SMTP mailer pools connections, caps messages per connection and rate", async (t) => {
  const catcher = await startSmtp();
  const mailerFor = (env: Record<string, string>) => {
    const config = mailConfigFrom({ SMTP_URL: catcher.url, SMTP_STARTTLS: "off", ...env });
    return createSmtpMailer({ smtp: config.smtp, from: config.from });
  };
  try {
    await t.step("SMTP_POOL_SIZE connections carry every message", async () => {
      const mailer = mailerFor({ SMTP_POOL_SIZE: "3" });
      try {
        const before = catcher.messages.length;
        await sendMany(mailer, 30);
        const sent = catcher.messages.slice(before);
        assert.equal(sent.length, 30);
        assert.deepEqual(
          new Set(sent.map((mail) => mail.subject)),
          new Set(Array.from({ length: 30 }, (_, i) => `Message ${i}`)),
        );
        const connections = perConnection(sent);
        assert.ok(connections.length <= 3, `${connections.length} connections for a pool of 3`);
      } finally {
        mailer.close();
      }
    });

    await t.step("SMTP_MAX_MESSAGES_PER_CONNECTION recycles connections", async () => {
      const mailer = mailerFor({ SMTP_POOL_SIZE: "2", SMTP_MAX_MESSAGES_PER_CONNECTION: "4" });
      try {
        const before = catcher.messages.length;
        await sendMany(mailer, 20);
        const connections = perConnection(catcher.messages.slice(before));
        assert.ok(connections.every((count) => count <= 4), `per connection: ${connections}`);
        assert.ok(connections.length >= 5, `20 messages need at least 5 connections of 4`);
      } finally {
        mailer.close();
      }
    });

    await t.step("SMTP_RATE_LIMIT spreads messages over seconds", async () => {
      // 11 messages at 5 a second take three one-second windows: the last
      // cannot start before two seconds have passed. Only this lower bound is
      // asserted; a slow machine can only make it later.
      const mailer = mailerFor({ SMTP_RATE_LIMIT: "5" });
      try {
        const before = catcher.messages.length;
        const startedAt = Date.now();
        await sendMany(mailer, 11);
        const elapsedMs = Date.now() - startedAt;
        assert.equal(catcher.messages.length - before, 11);
        assert.ok(elapsedMs >= 1_950, `11 messages at 5/s took only ${elapsedMs} ms`);
      } finally {
        mailer.close();
      }
    });

    await t.step(
      "a 5xx reply is permanent, a 4xx reply is retryable and sent nothing",
      async () => {
        const mailer = mailerFor({});
        const failure = () =>
          mailer.send({ to: "someone@example.test", subject: "x", text: "x", html: "<p>x</p>" })
            .then(() => undefined, (error: unknown) => error);
        try {
          catcher.rejectNext(550, "No such user here");
          const refused = await failure();
          assert.ok(refused instanceof MailSendError, `got ${refused}`);
          assert.equal(refused.permanent, true);
          catcher.rejectNext(451, "Try again later");
          const deferred = await failure();
          assert.ok(deferred instanceof MailSendError, `got ${deferred}`);
          assert.equal(deferred.permanent, false);
          assert.equal(deferred.notSent, true);
        } finally {
          mailer.close();
        }
      },
    );
  } finally {
    await catcher.stop();
  }
});
