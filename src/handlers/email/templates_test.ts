import assert from "node:assert/strict";
import { EMAIL_KINDS } from "../../jobs/mod.ts";
import { type EmailTemplateData, renderEmail } from "./templates.ts";

const data: EmailTemplateData = {
  user: {
    email: "eve@example.com",
    name: `Eve "<img src=x>"`,
    position: 1234,
    originalPosition: 2000,
    verifiedReferrals: 5,
  },
  campaign: { name: "Café & <Friends>", pointsPerReferral: 10 },
  referralLink: "https://app.example.com/r/abc?x=1&y=2",
  verification: {
    link: "https://app.example.com/verify?token=a.b",
    expiresAt: new Date("2030-01-02T03:04:05Z"),
  },
  milestone: { reached: 5, next: 10 },
  reward: { name: "T-shirt <XL>", description: "Cotton & love" },
};

Deno.test("every kind renders subject, text and escaped HTML", () => {
  for (const kind of EMAIL_KINDS) {
    const email = renderEmail(kind, data);
    assert.ok(email.subject.includes("Café & <Friends>"), kind);
    assert.ok(!/[\r\n]/.test(email.subject), kind);
    assert.ok(email.text.includes("Café & <Friends>"), kind);
    assert.ok(email.html.includes("Café &amp; &lt;Friends&gt;"), kind);
    assert.ok(!email.html.includes("<Friends>"), kind);
    assert.ok(!email.html.includes("<img"), kind);
    assert.ok(!email.html.includes("<XL>"), kind);
  }
});

Deno.test("links are in the text and, escaped, in the HTML", () => {
  const welcome = renderEmail("welcome", data);
  assert.match(welcome.text, /Your referral link: https:\/\/app\.example\.com\/r\/abc\?x=1&y=2/);
  assert.ok(welcome.html.includes('href="https://app.example.com/r/abc?x=1&amp;y=2"'));
  assert.match(welcome.text, /moves you up 10 places/);
  const verification = renderEmail("verification", data);
  assert.match(
    verification.text,
    /Confirm my email: https:\/\/app\.example\.com\/verify\?token=a\.b/,
  );
  assert.match(verification.text, /expires on 2030-01-02 03:04 UTC/);
});

Deno.test("kind-specific content", () => {
  assert.match(renderEmail("position_update", data).text, /#1,234 .* 766 places ahead .*#2,000/);
  assert.match(renderEmail("milestone", data).subject, /5 verified referrals$/);
  assert.match(renderEmail("milestone", data).text, /Next milestone: 10 verified referrals/);
  assert.match(
    renderEmail("milestone", { ...data, milestone: { reached: 100, next: undefined } }).text,
    /last milestone/,
  );
  assert.match(renderEmail("reward_earned", data).text, /You earned T-shirt <XL>/);
});

Deno.test("a position update to a user who did not move says where they are, not that they moved", () => {
  const moved = renderEmail("position_update", data);
  assert.match(moved.subject, /^You moved up to #1,234/);
  const still = renderEmail("position_update", {
    ...data,
    user: { ...data.user, position: 2000, originalPosition: 2000 },
  });
  assert.doesNotMatch(still.subject, /moved up/i);
  assert.doesNotMatch(still.text, /moved up|ahead of where/i);
  assert.match(still.subject, /Your position on .*: #2,000/);
});

Deno.test("a kind without its data is a TypeError", () => {
  const { verification: _v, ...withoutLink } = data;
  assert.throws(() => renderEmail("verification", withoutLink), TypeError);
  const { reward: _r, ...withoutReward } = data;
  assert.throws(() => renderEmail("reward_earned", withoutReward), TypeError);
});
