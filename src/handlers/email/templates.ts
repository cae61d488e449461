/**
 * The email of each kind: subject, plain text and HTML, from data loaded out
 * of the database. Every value that comes from a user or a campaign is
 * escaped in the HTML part and kept on one line in the subject.
 *
 * @module
 */

import type { EmailKind } from "../../jobs/mod.ts";
import { escapeHtml, headerText } from "../../mail/mod.ts";

/** What templates are filled with. */
export interface EmailTemplateData {
  /** The recipient and their place on the waitlist. */
  user: {
    email: string;
    name: string | null;
    position: number;
    originalPosition: number;
    verifiedReferrals: number;
  };
  /** The campaign the email is about. */
  campaign: { name: string; pointsPerReferral: number };
  /** The user's referral link. */
  referralLink: string;
  /** Verification emails: the signed link and when it expires. */
  verification?: { link: string; expiresAt: Date };
  /** Milestone emails: the threshold reached and the next one, if any. */
  milestone?: { reached: number; next: number | undefined };
  /** Reward emails: the reward earned. */
  reward?: { name: string; description: string };
}

/** A filled template. */
export interface RenderedEmail {
  /** The subject line (plain text). */
  subject: string;
  /** The plain-text body. */
  text: string;
  /** The HTML body, user data escaped. */
  html: string;
}

/** A paragraph: plain text, and its HTML made of escaped text and trusted markup. */
type Part = { text: string; html: string } | { link: string; label: string };

/**
 * The email of `kind` for `data`.
 *
 * @throws {TypeError} when `data` lacks what the kind needs (a verification
 * link, a milestone or a reward).
 */
export function renderEmail(kind: EmailKind, data: EmailTemplateData): RenderedEmail {
  const campaign = data.campaign.name;
  const greeting = data.user.name ? `Hi ${data.user.name},` : "Hi,";
  const position = `#${data.user.position.toLocaleString("en-US")}`;
  const share = [
    plain(
      `Move up faster: every friend who joins through your link and confirms their email moves you up ${
        places(data.campaign.pointsPerReferral)
      }.`,
    ),
    { link: data.referralLink, label: "Your referral link" },
  ];
  switch (kind) {
    case "verification": {
      const verification = need(data.verification, kind, "a verification link");
      return build(`Confirm your email for ${campaign}`, [
        plain(greeting),
        plain(`Thanks for joining the ${campaign} waitlist. Please confirm your email address:`),
        { link: verification.link, label: "Confirm my email" },
        plain(
          `This link expires on ${formatDate(verification.expiresAt)}. ` +
            "If you did not sign up, ignore this email.",
        ),
      ]);
    }
    case "welcome":
      return build(`Welcome to ${campaign}: you are ${position} on the waitlist`, [
        plain(greeting),
        plain(`You are on the ${campaign} waitlist, at position ${position}.`),
        ...share,
      ]);
    case "position_update": {
      const gained = data.user.originalPosition - data.user.position;
      const subject = gained > 0
        ? `You moved up to ${position} on ${campaign}`
        : `Your position on ${campaign}: ${position}`;
      return build(subject, [
        plain(greeting),
        plain(
          gained > 0
            ? `Good news: you are now ${position} on the ${campaign} waitlist, ${
              places(gained)
            } ahead of where you joined (#${data.user.originalPosition.toLocaleString("en-US")}).`
            : `You are now ${position} on the ${campaign} waitlist.`,
        ),
        ...share,
      ]);
    }
    case "reward_earned": {
      const reward = need(data.reward, kind, "a reward");
      return build(`You earned a reward on ${campaign}: ${reward.name}`, [
        plain(greeting),
        plain(`You earned ${reward.name} on the ${campaign} waitlist.`),
        ...(reward.description ? [plain(reward.description)] : []),
        plain(`You are ${position} on the waitlist. Thank you for spreading the word.`),
      ]);
    }
    case "milestone": {
      const milestone = need(data.milestone, kind, "a milestone");
      return build(`Milestone reached on ${campaign}: ${referrals(milestone.reached)}`, [
        plain(greeting),
        plain(
          `You reached a milestone on the ${campaign} waitlist: ${
            referrals(milestone.reached)
          } confirmed their email. You are now ${position}.`,
        ),
        plain(
          milestone.next === undefined
            ? "That is the last milestone. Thank you!"
            : `Next milestone: ${referrals(milestone.next)}.`,
        ),
        ...share,
      ]);
    }
  }
}

function plain(text: string): Part {
  return { text, html: escapeHtml(text) };
}

function build(subject: string, parts: Part[]): RenderedEmail {
  const text = parts.map((part) => "link" in part ? `${part.label}: ${part.link}` : part.text)
    .join("\n\n");
  const body = parts.map((part) =>
    "link" in part
      ? `<p><a href="${escapeHtml(part.link)}">${escapeHtml(part.label)}</a></p>`
      : `<p>${part.html}</p>`
  ).join("\n");
  const title = escapeHtml(headerText(subject));
  return {
    subject: headerText(subject),
    text: `${text}\n`,
    html: `<!doctype html>\n<html><head><meta charset="utf-8"><title>${title}</title></head>` +
      `<body style="font-family: sans-serif; line-height: 1.5">\n${body}\n</body></html>\n`,
  };
}

function need<T>(value: T | undefined, kind: EmailKind, what: string): T {
  if (value === undefined) throw new TypeError(`Cannot render a ${kind} email without ${what}`);
  return value;
}

function places(count: number): string {
  return count === 1 ? "1 place" : `${count.toLocaleString("en-US")} places`;
}

function referrals(count: number): string {
  return count === 1 ? "1 verified referral" : `${count} verified referrals`;
}

function formatDate(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}
