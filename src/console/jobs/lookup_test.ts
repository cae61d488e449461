import assert from "node:assert/strict";
import { jobOutcome, type JobReport, maskEmail, parseJobId } from "./lookup.ts";

Deno.test("a job id must be a UUID, named in the error", () => {
  assert.equal(
    parseJobId(" 0F8FAD5B-D9CB-469F-A165-70867728950E "),
    "0f8fad5b-d9cb-469f-a165-70867728950e",
  );
  assert.throws(() => parseJobId("42"), /id: must be a job event id \(a UUID\), got "42"/);
  assert.throws(() => parseJobId(undefined), /id: must be a job event id/);
});

Deno.test("email addresses are masked", () => {
  assert.equal(maskEmail("alice@example.com"), "a…@example.com");
  assert.equal(maskEmail("nonsense"), "…");
  assert.equal(maskEmail(null), null);
});

Deno.test("the outcome comes from the ledger, then the email record, then the dead letters", () => {
  const base: JobReport = { id: "x", deadLetters: [], emails: [] };
  const email = { kind: "welcome", attempts: 1, recipient: null, sentAt: null, lastError: null };
  assert.equal(jobOutcome(base), "unknown: no record of it");
  assert.equal(jobOutcome({ ...base, emails: [{ ...email, status: "failed" }] }), "not done yet");
  assert.equal(jobOutcome({ ...base, emails: [{ ...email, status: "sent" }] }), "done: email sent");
  const ledger = { jobType: "t", campaignId: null, outcome: "recalculated", processedAt: "" };
  assert.equal(jobOutcome({ ...base, ledger }), "done: recalculated (ledger)");
});
