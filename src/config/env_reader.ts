/**
 * Reading typed values out of an environment record. Every problem is
 * collected, so one start-up reports all bad variables at once, each by name.
 *
 * @module
 */

/** The environment as a plain record, e.g. `Deno.env.toObject()`. */
export type Env = Readonly<Record<string, string | undefined>>;

/** One or more environment variables hold values that are not allowed. */
export class ConfigError extends TypeError {
  /** Each problem, naming its variable. */
  readonly problems: readonly ConfigProblem[];
  /** An error listing every problem in its message. */
  constructor(problems: readonly ConfigProblem[]) {
    super(
      `Invalid configuration: ${problems.map((p) => `${p.variable}: ${p.message}`).join("; ")}`,
    );
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** A bad variable and what is allowed instead. */
export interface ConfigProblem {
  /** The environment variable's name. */
  variable: string;
  /** What is wrong and what is allowed. */
  message: string;
}

/** Options of {@linkcode EnvReader.int}. */
export interface IntOptions {
  /** The smallest value allowed. */
  min?: number;
  /** The largest value allowed. */
  max?: number;
}

/**
 * Reads variables from an {@linkcode Env}, recording problems instead of
 * throwing; call {@linkcode EnvReader.done} to throw them all together.
 */
export class EnvReader {
  readonly #env: Env;
  readonly #problems: ConfigProblem[] = [];

  /** A reader of `env` (usually `Deno.env.toObject()`). */
  constructor(env: Env) {
    this.#env = env;
  }

  /** Records a problem with `variable`. */
  problem(variable: string, message: string): void {
    this.#problems.push({ variable, message });
  }

  /** The trimmed value, or undefined when unset or blank. */
  optional(name: string): string | undefined {
    const value = this.#env[name]?.trim();
    return value ? value : undefined;
  }

  /** The value, or `fallback` when unset or blank. */
  string(name: string, fallback: string): string {
    return this.optional(name) ?? fallback;
  }

  /** A value that must be set. */
  required(name: string, hint: string): string {
    const value = this.optional(name);
    if (value === undefined) {
      this.problem(name, `is required (${hint})`);
      return "";
    }
    return value;
  }

  /** An integer within bounds, or `fallback` when unset. */
  int(name: string, fallback: number, options: IntOptions = {}): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    const { min = -Infinity, max = Infinity } = options;
    if (!/^-?\d+$/.test(raw) || value < min || value > max) {
      const range = [
        Number.isFinite(min) ? `>= ${min}` : "",
        Number.isFinite(max) ? `<= ${max}` : "",
      ].filter(Boolean).join(" and ");
      this.problem(name, `must be an integer${range ? ` ${range}` : ""}, got "${raw}"`);
      return fallback;
    }
    return value;
  }

  /** `true`/`false` (also `1`/`0`, `yes`/`no`), or `fallback` when unset. */
  bool(name: string, fallback: boolean): boolean {
    const raw = this.optional(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (["true", "1", "yes", "on"].includes(raw)) return true;
    if (["false", "0", "no", "off"].includes(raw)) return false;
    this.problem(name, `must be true or false, got "${raw}"`);
    return fallback;
  }

  /** A comma-separated list with blanks removed, or `fallback` when unset. */
  list(name: string, fallback: readonly string[]): string[] {
    const raw = this.optional(name);
    if (raw === undefined) return [...fallback];
    return raw.split(",").map((item) => item.trim()).filter(Boolean);
  }

  /** One of `allowed`, or `fallback` when unset. */
  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T;
  /** One of `allowed`, or `undefined` when unset. */
  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined;
  oneOf<T extends string>(name: string, allowed: readonly T[], fallback?: T): T | undefined {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    const value = raw.toLowerCase() as T;
    if (allowed.includes(value)) return value;
    this.problem(name, `must be one of ${allowed.join(", ")}, got "${raw}"`);
    return fallback;
  }

  /** A URL with one of `protocols`, or `fallback` when unset. */
  url(name: string, protocols: readonly string[], fallback: string): string {
    const raw = this.string(name, fallback);
    try {
      const url = new URL(raw);
      if (!protocols.includes(url.protocol.replace(/:$/, ""))) {
        this.problem(name, `must be a ${protocols.join(" or ")} URL, got "${redact(url)}"`);
      }
    } catch {
      this.problem(name, `must be a URL, got "${raw}"`);
    }
    return raw;
  }

  /** Throws a {@linkcode ConfigError} when any problem was recorded. */
  done(): void {
    if (this.#problems.length > 0) throw new ConfigError(this.#problems);
  }
}

function redact(url: URL): string {
  if (url.password) url.password = "***";
  return url.href;
}
