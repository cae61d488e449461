import assert from "node:assert/strict";
import nodemailer from "nodemailer";
import { startSmtp } from "./smtp.ts";

/** The fields of a nodemailer failure that the tests look at. */
interface SendFailure {
  responseCode?: number;
  command?: string;
}

/** Sends one message through a fresh transport and closes it. */
async function send(
  transport: ReturnType<typeof nodemailer.createTransport>,
  subject: string,
): Promise<void> {
  try {
    await transport.sendMail({
      from: '"Jobpool" <jobs@jobpool.test>',
      to: ["alice@example.test", "bob@example.test"],
      bcc: "audit@example.test",
      subject,
      text: `Body of ${subject}`,
      html: `<p>Body of <b>${subject}</b></p>`,
      headers: { "X-Job-Id": "job-42" },
    });
  } finally {
    transport.close();
  }
}

Deno.test("smtp catcher takes plain mail and parses it", async () => {
  const started = performance.now();
  const catcher = await startSmtp();
  console.log(`smtp start: ${(performance.now() - started).toFixed(1)} ms`);
  try {
    assert.equal(catcher.url, `smtp://127.0.0.1:${catcher.port}`);
    const transport = nodemailer.createTransport({
      host: catcher.host,
      port: catcher.port,
      secure: false,
      ignoreTLS: true,
    });
    await send(transport, "Plain hello");
    const [mail] = await catcher.waitForMessages(1);
    assert.ok(mail);
    assert.equal(mail.from, "jobs@jobpool.test");
    assert.deepEqual(mail.to, ["alice@example.test", "bob@example.test"]);
    assert.deepEqual(mail.envelope, {
      from: "jobs@jobpool.test",
      to: ["alice@example.test", "bob@example.test", "audit@example.test"],
    });
    assert.equal(mail.subject, "Plain hello");
    assert.equal(mail.text.trim(), "Body of Plain hello");
    assert.equal(mail.html, "<p>Body of <b>Plain hello</b></p>");
    assert.match(mail.messageId, /^<.+@.+>$/);
    assert.equal(mail.headers.get("x-job-id"), "job-42");
    assert.match(mail.raw, /^X-Job-Id: job-42\r?$/im);
    assert.equal(mail.secure, false);
    assert.equal(mail.user, undefined);
  } finally {
    await catcher.stop();
  }
});

Deno.test("smtp catcher requires STARTTLS and a login when asked", async (t) => {
  const auth = { user: "mailer", pass: "s3cret/pass" };
  const catcher = await startSmtp({ requireTLS: true, auth });
  try {
    await t.step("advertises the login in its URL", () => {
      assert.equal(catcher.url, `smtp://mailer:s3cret%2Fpass@127.0.0.1:${catcher.port}`);
    });

    await t.step("accepts mail after STARTTLS and AUTH", async () => {
      const transport = nodemailer.createTransport({
        url: catcher.url,
        requireTLS: true,
        tls: { rejectUnauthorized: false },
      });
      await send(transport, "Over TLS");
      const [mail] = await catcher.waitForMessages(1);
      assert.equal(mail?.subject, "Over TLS");
      assert.equal(mail?.secure, true);
      assert.equal(mail?.user, "mailer");
    });

    await t.step("refuses a client that skips STARTTLS", async () => {
      const transport = nodemailer.createTransport({
        host: catcher.host,
        port: catcher.port,
        ignoreTLS: true,
      });
      await assert.rejects(send(transport, "Clear text"), (error: SendFailure) => {
        assert.equal(error.command, "MAIL FROM");
        assert.equal(error.responseCode, 530);
        return true;
      });
    });

    await t.step("refuses a wrong password", async () => {
      const transport = nodemailer.createTransport({
        host: catcher.host,
        port: catcher.port,
        requireTLS: true,
        tls: { rejectUnauthorized: false },
        auth: { user: "mailer", pass: "wrong" },
      });
      await assert.rejects(send(transport, "Bad login"), (error: SendFailure) => {
        assert.equal(error.responseCode, 535);
        return true;
      });
      assert.equal(catcher.messages.length, 1);
    });
  } finally {
    await catcher.stop();
  }
});

Deno.test("smtp catcher replies 4xx and 5xx on demand", async (t) => {
  const catcher = await startSmtp();
  const transport = () =>
    nodemailer.createTransport({
      host: catcher.host,
      port: catcher.port,
      tls: { rejectUnauthorized: false },
    });
  try {
    await t.step("a 4xx reply is a transient failure", async () => {
      catcher.rejectNext(451, "4.3.0 Try again later");
      await assert.rejects(send(transport(), "Transient"), (error: SendFailure) => {
        assert.equal(error.command, "DATA");
        assert.equal(error.responseCode, 451);
        return true;
      });
    });

    await t.step("a 5xx reply is a permanent failure, twice", async () => {
      catcher.rejectNext(550, "5.7.1 Message refused", 2);
      for (const subject of ["Permanent 1", "Permanent 2"]) {
        await assert.rejects(send(transport(), subject), (error: SendFailure) => {
          assert.equal(error.responseCode, 550);
          return true;
        });
      }
    });

    await t.step("later mail gets through and rejected mail is not kept", async () => {
      await send(transport(), "Accepted");
      const messages = await catcher.waitForMessages(1);
      assert.deepEqual(messages.map((mail) => mail.subject), ["Accepted"]);
      assert.equal(messages[0]?.secure, true, "nodemailer upgrades with STARTTLS when offered");
    });

    await t.step("rejectNext takes only 4xx and 5xx codes", () => {
      assert.throws(() => catcher.rejectNext(250, "OK"), RangeError);
    });

    await t.step("waitForMessages gives up after its timeout", async () => {
      await assert.rejects(catcher.waitForMessages(2, 50), /Expected 2 message\(s\) within 50 ms/);
    });
  } finally {
    await catcher.stop();
  }
});
