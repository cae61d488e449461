/**
 * What the job handlers need to reach users: the SMTP server and sender, the
 * links put in emails, the verification and webhook signing secrets, and the
 * rule that decides when a better position is worth an email.
 *
 * @module
 */

import type { EnvReader } from "./env_reader.ts";

/** The default SMTP server: a local mail catcher (MailHog, Mailpit) on port 1025. */
export const DEFAULT_SMTP_URL = "smtp://localhost:1025";

/**
 * Development-only secrets, so that `deno task worker` runs without setup. Set
 * `VERIFICATION_SECRET` and `WEBHOOK_SIGNING_SECRET` anywhere real.
 */
export const DEVELOPMENT_SECRETS = {
  verification: "jobpool-development-verification-secret",
  webhook: "jobpool-development-webhook-secret",
} as const;

/**
 * The variables whose secret is a public development default in `config`:
 * `VERIFICATION_SECRET` and `WEBHOOK_SIGNING_SECRET` when unset (or set to
 * that default). Empty when both are real secrets. The worker logs a warning
 * at start for each: anyone can forge verification links and webhook
 * signatures with a public secret.
 *
 * @example
 * ```ts
 * for (const name of developmentSecretsInUse(config)) {
 *   log.warn("{name} is unset: using a public development secret; set it in production", { name });
 * }
 * ```
 */
export function developmentSecretsInUse(config: { mail: MailConfig }): string[] {
  const names: string[] = [];
  if (config.mail.verification.secret === DEVELOPMENT_SECRETS.verification) {
    names.push("VERIFICATION_SECRET");
  }
  if (config.mail.rewardWebhooks.signingSecret === DEVELOPMENT_SECRETS.webhook) {
    names.push("WEBHOOK_SIGNING_SECRET");
  }
  return names;
}

/** Values of `SMTP_STARTTLS`. */
export const STARTTLS_MODES = ["auto", "required", "off"] as const;

/** When a plain SMTP connection is upgraded to TLS. */
export type StartTlsMode = typeof STARTTLS_MODES[number];

/** How to reach the SMTP server. */
export interface SmtpConfig {
  /** The server's host name or address. */
  host: string;
  /** The server's port. */
  port: number;
  /** Implicit TLS from the first byte (SMTPS, port 465). */
  secure: boolean;
  /**
   * STARTTLS on a plain connection: `auto` upgrades when the server offers it,
   * `required` refuses to send without it, `off` never upgrades.
   */
  starttls: StartTlsMode;
  /** Verify the server's certificate. */
  tlsRejectUnauthorized: boolean;
  /** Login, when the server wants one. */
  auth?: { user: string; pass: string };
  /** Connections kept open and used in parallel. */
  poolSize: number;
  /** Messages sent over one connection before it is replaced. */
  maxMessagesPerConnection: number;
  /** Messages per second for the whole pool; 0 for no limit. */
  rateLimitPerSecond: number;
  /** Connection, greeting and socket idle timeout in milliseconds. */
  timeoutMs: number;
}

/** When a user whose position improved gets a `position_update` email. */
export interface PositionUpdateRule {
  /** Off: recalculations never enqueue position emails. */
  enabled: boolean;
  /** Places gained since the position the user was last told about. */
  minImprovement: number;
  /** Hours between two position emails to the same user. */
  minIntervalHours: number;
  /** Position emails enqueued by one recalculation at most (biggest gains first). */
  maxPerRecalculation: number;
}

/** Outgoing notifications: email over SMTP, links and reward webhooks. */
export interface MailConfig {
  /** How to reach the SMTP server. */
  smtp: SmtpConfig;
  /** The `From` header, e.g. `"Jobpool" <no-reply@example.com>`. */
  from: string;
  /** The public web app that links in emails point to, without a trailing slash. */
  appBaseUrl: string;
  /** The signed, expiring link of verification emails. */
  verification: { secret: string; ttlHours: number };
  /** Signed HTTP POSTs to a reward's webhook URL. */
  rewardWebhooks: { signingSecret: string; timeoutMs: number; attempts: number };
  /** When a better position is worth an email. */
  positionUpdates: PositionUpdateRule;
  /**
   * How long a claim on an email or a reward lasts without renewal; renewed
   * every third of it while the work runs, so a crashed holder's claim ends
   * this long after the crash at most.
   */
  claimLeaseMs: number;
}

/**
 * Reads `SMTP_URL` (or `SMTP_HOST`, `SMTP_PORT`, `SMTP_USER`, `SMTP_PASSWORD`,
 * `SMTP_SECURE`), `SMTP_STARTTLS`, `SMTP_TLS_REJECT_UNAUTHORIZED`,
 * `SMTP_POOL_SIZE`, `SMTP_MAX_MESSAGES_PER_CONNECTION`, `SMTP_RATE_LIMIT`,
 * `SMTP_TIMEOUT_MS`, `SMTP_FROM`, `APP_BASE_URL`, `VERIFICATION_SECRET`,
 * `VERIFICATION_TTL_HOURS`, `WEBHOOK_SIGNING_SECRET`, `WEBHOOK_TIMEOUT_MS`,
 * `WEBHOOK_ATTEMPTS`, `POSITION_UPDATE_EMAILS`,
 * `POSITION_UPDATE_MIN_IMPROVEMENT`, `POSITION_UPDATE_MIN_INTERVAL_HOURS`,
 * `POSITION_UPDATE_MAX_PER_RECALC` and `CLAIM_LEASE_MS`.
 */
export function readMailConfig(env: EnvReader): MailConfig {
  const appBaseUrl = env.url("APP_BASE_URL", ["http", "https"], "http://localhost:3000");
  return {
    smtp: readSmtpConfig(env),
    from: readFrom(env),
    appBaseUrl: appBaseUrl.replace(/\/+$/, ""),
    verification: {
      secret: readSecret(env, "VERIFICATION_SECRET", DEVELOPMENT_SECRETS.verification),
      ttlHours: env.int("VERIFICATION_TTL_HOURS", 48, { min: 1, max: 24 * 365 }),
    },
    rewardWebhooks: {
      signingSecret: readSecret(env, "WEBHOOK_SIGNING_SECRET", DEVELOPMENT_SECRETS.webhook),
      timeoutMs: env.int("WEBHOOK_TIMEOUT_MS", 10_000, { min: 1, max: 600_000 }),
      attempts: env.int("WEBHOOK_ATTEMPTS", 3, { min: 1, max: 20 }),
    },
    positionUpdates: {
      enabled: env.bool("POSITION_UPDATE_EMAILS", true),
      minImprovement: env.int("POSITION_UPDATE_MIN_IMPROVEMENT", 10, { min: 1 }),
      minIntervalHours: env.int("POSITION_UPDATE_MIN_INTERVAL_HOURS", 24, { min: 0 }),
      maxPerRecalculation: env.int("POSITION_UPDATE_MAX_PER_RECALC", 500, {
        min: 1,
        max: 100_000,
      }),
    },
    claimLeaseMs: env.int("CLAIM_LEASE_MS", 15_000, { min: 1_000, max: 600_000 }),
  };
}

function readSmtpConfig(env: EnvReader): SmtpConfig {
  const pool = {
    starttls: env.oneOf("SMTP_STARTTLS", STARTTLS_MODES, "auto"),
    tlsRejectUnauthorized: env.bool("SMTP_TLS_REJECT_UNAUTHORIZED", true),
    poolSize: env.int("SMTP_POOL_SIZE", 5, { min: 1, max: 100 }),
    maxMessagesPerConnection: env.int("SMTP_MAX_MESSAGES_PER_CONNECTION", 100, { min: 1 }),
    rateLimitPerSecond: env.int("SMTP_RATE_LIMIT", 0, { min: 0 }),
    timeoutMs: env.int("SMTP_TIMEOUT_MS", 30_000, { min: 100 }),
  };
  const host = env.optional("SMTP_HOST");
  if (host !== undefined) {
    if (env.optional("SMTP_URL") !== undefined) {
      env.problem("SMTP_URL", "set either SMTP_URL or SMTP_HOST (with SMTP_PORT …), not both");
    }
    const secure = env.bool("SMTP_SECURE", false);
    const user = env.optional("SMTP_USER");
    const password = env.optional("SMTP_PASSWORD");
    if ((user === undefined) !== (password === undefined)) {
      env.problem(
        user === undefined ? "SMTP_USER" : "SMTP_PASSWORD",
        "set SMTP_USER and SMTP_PASSWORD together",
      );
    }
    return {
      host,
      port: env.int("SMTP_PORT", secure ? 465 : 587, { min: 1, max: 65535 }),
      secure,
      ...pool,
      ...(user !== undefined && password !== undefined ? { auth: { user, pass: password } } : {}),
    };
  }
  const raw = env.url("SMTP_URL", ["smtp", "smtps"], DEFAULT_SMTP_URL);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    url = new URL(DEFAULT_SMTP_URL);
  }
  const secure = url.protocol === "smtps:";
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, "$1") || "localhost",
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    ...pool,
    ...(user ? { auth: { user, pass } } : {}),
  };
}

function readFrom(env: EnvReader): string {
  const from = env.string("SMTP_FROM", '"Jobpool" <no-reply@jobpool.localhost>');
  if (/[\r\n]/.test(from) || !/@[^\s@>]+>?\s*$/.test(from)) {
    env.problem(
      "SMTP_FROM",
      `must be an address such as "Name" <no-reply@example.com>, got "${from}"`,
    );
  }
  return from;
}

function readSecret(env: EnvReader, name: string, fallback: string): string {
  const secret = env.string(name, fallback);
  if (secret.length < 16) {
    env.problem(name, `must be at least 16 characters long, got ${secret.length}`);
  }
  return secret;
}
