import assert from "node:assert/strict";
import { ConfigError, EnvReader } from "./env_reader.ts";
import { loadConfig } from "./load_config.ts";
import { DEVELOPMENT_SECRETS, developmentSecretsInUse, readMailConfig } from "./mail.ts";

function read(env: Record<string, string>) {
  const reader = new EnvReader(env);
  const config = readMailConfig(reader);
  reader.done();
  return config;
}

Deno.test("mail config defaults let a local worker run", () => {
  const config = read({});
  assert.equal(config.smtp.host, "localhost");
  assert.equal(config.smtp.port, 1025);
  assert.equal(config.smtp.secure, false);
  assert.equal(config.smtp.auth, undefined);
  assert.equal(config.appBaseUrl, "http://localhost:3000");
  assert.equal(config.verification.secret, DEVELOPMENT_SECRETS.verification);
  assert.equal(config.positionUpdates.enabled, true);
});

Deno.test("SMTP_URL carries host, port, login and implicit TLS", () => {
  const config = read({
    SMTP_URL: "smtps://mailer:p%40ss@mail.example.com",
    SMTP_RATE_LIMIT: "50",
    APP_BASE_URL: "https://app.example.com/",
  });
  assert.deepEqual(
    [config.smtp.host, config.smtp.port, config.smtp.secure, config.smtp.auth],
    ["mail.example.com", 465, true, { user: "mailer", pass: "p@ss" }],
  );
  assert.equal(config.smtp.rateLimitPerSecond, 50);
  assert.equal(config.appBaseUrl, "https://app.example.com");
});

Deno.test("SMTP_HOST and friends replace SMTP_URL", () => {
  const config = read({
    SMTP_HOST: "smtp.example.com",
    SMTP_USER: "u",
    SMTP_PASSWORD: "p",
    SMTP_STARTTLS: "required",
  });
  assert.deepEqual(
    [config.smtp.host, config.smtp.port, config.smtp.starttls, config.smtp.auth],
    ["smtp.example.com", 587, "required", { user: "u", pass: "p" }],
  );
});

Deno.test("bad mail settings fail naming each variable", () => {
  assert.throws(
    () =>
      read({
        SMTP_URL: "http://mail",
        SMTP_FROM: "nobody",
        VERIFICATION_SECRET: "short",
        POSITION_UPDATE_MIN_IMPROVEMENT: "0",
      }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems.map((p) => p.variable).sort(), [
        "POSITION_UPDATE_MIN_IMPROVEMENT",
        "SMTP_FROM",
        "SMTP_URL",
        "VERIFICATION_SECRET",
      ]);
      return true;
    },
  );
});

Deno.test("developmentSecretsInUse names each secret left at its public default", () => {
  const withMail = (env: Record<string, string>) => ({ mail: read(env) });
  assert.deepEqual(developmentSecretsInUse(withMail({})), [
    "VERIFICATION_SECRET",
    "WEBHOOK_SIGNING_SECRET",
  ]);
  assert.deepEqual(
    developmentSecretsInUse(withMail({ VERIFICATION_SECRET: "a-real-verification-secret" })),
    ["WEBHOOK_SIGNING_SECRET"],
  );
  assert.deepEqual(
    developmentSecretsInUse(withMail({
      VERIFICATION_SECRET: "a-real-verification-secret",
      WEBHOOK_SIGNING_SECRET: DEVELOPMENT_SECRETS.webhook,
    })),
    ["WEBHOOK_SIGNING_SECRET"],
  );
  assert.deepEqual(
    developmentSecretsInUse(loadConfig({
      VERIFICATION_SECRET: "a-real-verification-secret",
      WEBHOOK_SIGNING_SECRET: "a-real-webhook-signing-secret",
    })),
    [],
  );
});
