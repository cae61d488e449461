import assert from "node:assert/strict";
import { isDatabaseUnavailable } from "./errors.ts";

function withCode(code: string, message = "failed"): Error {
  return Object.assign(new Error(message), { code });
}

Deno.test("isDatabaseUnavailable tells an outage from a statement's failure", () => {
  for (const code of ["CONNECTION_CLOSED", "CONNECT_TIMEOUT", "ECONNREFUSED", "57P01", "08006"]) {
    assert.equal(isDatabaseUnavailable(withCode(code)), true, code);
  }
  for (const code of ["23505", "42P01", "40001", "57014"]) {
    assert.equal(isDatabaseUnavailable(withCode(code)), false, code);
  }
  assert.equal(isDatabaseUnavailable(new Error("no code")), false);
  assert.equal(isDatabaseUnavailable(undefined), false);
  const wrapped = new Error("query failed", { cause: withCode("57P03") });
  assert.equal(isDatabaseUnavailable(wrapped), true, "the cause is looked at");
});
