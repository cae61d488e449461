/**
 * The level a kafkajs log line deserves. kafkajs logs every error response at
 * ERROR, including the ones a healthy group meets on every start and
 * rebalance (a coordinator still loading, a heartbeat answered "rebalance in
 * progress"): an operator reading ERROR at 3 a.m. should find real trouble
 * there. Those answers go to INFO with a plain explanation; the rest keep
 * kafkajs's level.
 *
 * @module
 */

/** A kafkajs answer that is expected in normal operation, and what it means. */
interface Expected {
  /** Matched against the error message kafkajs reports. */
  pattern: RegExp;
  /** What it means, in plain words. */
  explanation: string;
}

const EXPECTED: readonly Expected[] = [
  {
    pattern: /group coordinator is not available|coordinator is not available/i,
    explanation: "the broker is still electing the group coordinator (normal right after start)",
  },
  {
    pattern: /coordinator is loading/i,
    explanation: "the coordinator is loading its state (normal right after a broker start)",
  },
  {
    pattern: /group is rebalancing|rebalance in progress/i,
    explanation: "the group is rebalancing; this member re-joins (normal when members come or go)",
  },
  {
    pattern: /not the correct coordinator|not coordinator/i,
    explanation: "the coordinator moved; the client looks it up again",
  },
  {
    pattern: /leadership election|no leader for this topic-partition/i,
    explanation: "a partition leader is being elected; the client retries",
  },
];

/** How a kafkajs line is logged: its level and an explanation when it was expected. */
export interface KafkaLogDecision {
  /** The level to log at. */
  level: "error" | "warning" | "info" | "debug";
  /** Why an ERROR from kafkajs was made INFO. */
  explanation?: string;
}

/**
 * The level of a kafkajs line: `kafkaLevel` is kafkajs's (`error`, `warning`,
 * `info`, `debug`); `error` is the error message kafkajs attached, if any.
 */
export function kafkaLogDecision(
  kafkaLevel: KafkaLogDecision["level"],
  message: string,
  error: unknown,
): KafkaLogDecision {
  if (kafkaLevel !== "error" && kafkaLevel !== "warning") return { level: kafkaLevel };
  const text = `${message} ${typeof error === "string" ? error : ""}`;
  const expected = EXPECTED.find((entry) => entry.pattern.test(text));
  return expected ? { level: "info", explanation: expected.explanation } : { level: kafkaLevel };
}
