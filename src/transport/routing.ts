/**
 * Which transport and which BullMQ queue a job type goes to, from
 * `JOB_TRANSPORT*` and `BULLMQ_QUEUE*`. The first matching pattern wins, as
 * with `JOB_MAX_ATTEMPTS_BY_TYPE`.
 *
 * @module
 */

import type { JobTransport, LegacyConfig } from "../config/mod.ts";
import { JOB_TYPES, matchesJobType } from "../jobs/mod.ts";

/** The transport of `type`: its first matching rule, else the default. */
export function transportFor(
  config: Pick<LegacyConfig, "transport" | "transportByType">,
  type: string,
): JobTransport {
  return firstMatch(config.transportByType, type) ?? config.transport;
}

/** The BullMQ queue `type` is enqueued on. */
export function queueFor(
  config: Pick<LegacyConfig, "queue" | "queueByType">,
  type: string,
): string {
  return firstMatch(config.queueByType, type) ?? config.queue;
}

/** Every queue some job type is enqueued on: what the legacy worker and the bridge read. */
export function legacyQueues(config: Pick<LegacyConfig, "queue" | "queueByType">): string[] {
  return [...new Set(JOB_TYPES.map((type) => queueFor(config, type)))];
}

/** True when at least one job type is sent to Kafka. */
export function usesKafka(config: Pick<LegacyConfig, "transport" | "transportByType">): boolean {
  return JOB_TYPES.some((type) => transportFor(config, type) !== "bullmq");
}

/** True when at least one job type is sent to the BullMQ queue. */
export function usesBullmq(config: Pick<LegacyConfig, "transport" | "transportByType">): boolean {
  return JOB_TYPES.some((type) => transportFor(config, type) !== "kafka");
}

function firstMatch<T>(rules: Readonly<Record<string, T>>, type: string): T | undefined {
  for (const [pattern, value] of Object.entries(rules)) {
    if (matchesJobType(type, pattern)) return value;
  }
  return undefined;
}
