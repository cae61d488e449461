import assert from "node:assert/strict";
import { classifySmtpError, MailSendError } from "./errors.ts";

Deno.test("a 5xx reply is permanent, a 4xx reply and connection failures are not", () => {
  const rejected = classifySmtpError(
    Object.assign(new Error("550 No such user"), { code: "EENVELOPE", responseCode: 550 }),
  );
  assert.ok(rejected instanceof MailSendError);
  assert.equal(rejected.kind, "rejected");
  assert.equal(rejected.permanent, true);
  assert.equal(rejected.responseCode, 550);
  assert.match(rejected.message, /^Cannot send email \(SMTP 550\): 550 No such user$/);

  const deferred = classifySmtpError(
    Object.assign(new Error("451 Try later"), { code: "EMESSAGE", responseCode: 451 }),
  );
  assert.equal(deferred.kind, "deferred");
  assert.equal(deferred.permanent, false);

  for (const code of ["ECONNECTION", "ETIMEDOUT", "ESOCKET", "EAUTH"]) {
    const error = classifySmtpError(Object.assign(new Error("down"), { code, responseCode: 535 }));
    assert.equal(error.kind, "unavailable", code);
    assert.equal(error.permanent, false);
  }
  assert.equal(classifySmtpError("weird").kind, "unavailable");
});

Deno.test("only a reply, a refused connection or a failed login say the message was not sent", () => {
  const reply = (code: string, responseCode: number) =>
    classifySmtpError(Object.assign(new Error("no"), { code, responseCode }));
  assert.equal(reply("EENVELOPE", 550).notSent, true);
  assert.equal(reply("EMESSAGE", 451).notSent, true);
  assert.equal(reply("EAUTH", 535).notSent, true);
  const failure = (fields: Record<string, string>) =>
    classifySmtpError(Object.assign(new Error("down"), fields));
  assert.equal(failure({ code: "ESOCKET", originalCode: "ECONNREFUSED" }).notSent, true);
  assert.equal(failure({ code: "EDNS" }).notSent, true);
  // The connection broke or went quiet with the message on its way: it may be out.
  assert.equal(failure({ code: "ESOCKET", originalCode: "ECONNRESET" }).notSent, false);
  assert.equal(failure({ code: "ECONNECTION" }).notSent, false);
  assert.equal(failure({ code: "ETIMEDOUT" }).notSent, false);
  assert.equal(classifySmtpError("weird").notSent, false);
  assert.equal(new MailSendError("x", { kind: "deferred" }).notSent, true);
  assert.equal(new MailSendError("x", { kind: "unavailable" }).notSent, false);
});
