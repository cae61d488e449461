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
