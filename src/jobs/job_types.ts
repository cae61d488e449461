/**
 * The job types jobpool knows, and matching of type patterns such as
 * `job.email.*`.
 *
 * @module
 */

/** The kinds of email a `job.email.*` event can ask for. */
export const EMAIL_KINDS = [
  "verification",
  "welcome",
  "position_update",
  "reward_earned",
  "milestone",
] as const;

/** One kind of email, e.g. `"welcome"`. */
export type EmailKind = typeof EMAIL_KINDS[number];

/** Every job type, in a stable order. */
export const JOB_TYPES = [
  "job.email.verification",
  "job.email.welcome",
  "job.email.position_update",
  "job.email.reward_earned",
  "job.email.milestone",
  "job.position.recalculate",
  "job.reward.deliver",
] as const;

/** A job type, e.g. `"job.position.recalculate"`. */
export type JobType = typeof JOB_TYPES[number];

/** The job type of an email kind: `welcome` → `job.email.welcome`. */
export function emailJobType(kind: EmailKind): `job.email.${EmailKind}` {
  return `job.email.${kind}`;
}

/** True when `value` is one of {@linkcode JOB_TYPES}. */
export function isJobType(value: unknown): value is JobType {
  return typeof value === "string" && (JOB_TYPES as readonly string[]).includes(value);
}

/**
 * True when `type` matches `pattern`: an exact type, or a prefix ending in
 * `.*` (`job.email.*`), or `*` for everything.
 */
export function matchesJobType(type: string, pattern: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith(".*")) return type.startsWith(pattern.slice(0, -1));
  return type === pattern;
}

/** The job types that at least one of `patterns` matches. */
export function expandJobTypePatterns(patterns: readonly string[]): JobType[] {
  return JOB_TYPES.filter((type) => patterns.some((pattern) => matchesJobType(type, pattern)));
}
