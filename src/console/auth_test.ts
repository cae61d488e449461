import assert from "node:assert/strict";
import { ConsoleAuth } from "./auth.ts";

Deno.test("without a token nobody may act", () => {
  const auth = new ConsoleAuth({});
  assert.equal(auth.actionsEnabled, false);
  assert.equal(auth.checkToken(""), false);
  assert.equal(auth.checkToken("anything"), false);
});

Deno.test("the token is checked exactly", () => {
  const auth = new ConsoleAuth({ token: "correct-horse-battery" });
  assert.equal(auth.checkToken("correct-horse-battery"), true);
  assert.equal(auth.checkToken("correct-horse-batterz"), false);
  assert.equal(auth.checkToken("correct"), false);
  assert.equal(auth.checkToken(undefined), false);
});

Deno.test("sessions carry their own CSRF token and expire", () => {
  let now = 0;
  const auth = new ConsoleAuth({
    token: "correct-horse-battery",
    sessionTtlMs: 1_000,
    now: () => now,
  });
  const session = auth.openSession();
  const other = auth.openSession();
  assert.notEqual(session.id, other.id);
  assert.equal(auth.session(session.id), session);
  assert.equal(auth.checkCsrf(session, session.csrf), true);
  assert.equal(auth.checkCsrf(session, other.csrf), false);
  assert.equal(auth.checkCsrf(session, undefined), false);
  now = 1_000;
  assert.equal(auth.session(session.id), undefined);
  auth.closeSession(other.id);
  assert.equal(auth.session(other.id), undefined);
});
