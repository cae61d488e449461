import assert from "node:assert/strict";
import {
  createVerificationToken,
  InvalidVerificationTokenError,
  verificationLink,
  verifyVerificationToken,
} from "./verification_link.ts";

const secret = "unit-test-secret-0123456789";
const claims = {
  userId: "3f1e8a52-8f4e-4d0c-9a7b-1f2e3d4c5b6a",
  campaignId: "0b8f9c3e-2d1a-4e5f-8a7b-6c5d4e3f2a1b",
  email: "ann@example.com",
  expiresAt: new Date("2030-01-01T00:00:00Z"),
};

Deno.test("a token round-trips until it expires", async () => {
  const token = await createVerificationToken(claims, secret);
  assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  const now = new Date("2029-12-31T23:59:00Z");
  assert.deepEqual(await verifyVerificationToken(token, { secret, now }), claims);
  await assert.rejects(
    verifyVerificationToken(token, { secret, now: new Date("2030-01-01T00:00:01Z") }),
    /expired/,
  );
});

Deno.test("forged, tampered and malformed tokens are refused", async () => {
  const token = await createVerificationToken(claims, secret);
  const now = new Date("2029-01-01T00:00:00Z");
  await assert.rejects(
    verifyVerificationToken(token, { secret: "another-secret-0123456789", now }),
    InvalidVerificationTokenError,
  );
  const [payload, signature] = token.split(".");
  const forged = btoa(
    JSON.stringify({
      ...JSON.parse(atob(payload!.replaceAll("-", "+").replaceAll("_", "/"))),
      e: "eve@example.com",
    }),
  )
    .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  await assert.rejects(
    verifyVerificationToken(`${forged}.${signature}`, { secret, now }),
    /bad signature/,
  );
  for (const bad of ["", "abc", "a.b.c", "!!.??"]) {
    await assert.rejects(
      verifyVerificationToken(bad, { secret, now }),
      InvalidVerificationTokenError,
    );
  }
});

Deno.test("the link puts the token in the query of /verify", () => {
  assert.equal(
    verificationLink("https://app.example.com/", "a.b"),
    "https://app.example.com/verify?token=a.b",
  );
});
