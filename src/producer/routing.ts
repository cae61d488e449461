/**
 * Sending job events where their type is routed (`JOB_TRANSPORT*`): to Kafka,
 * to the legacy BullMQ queue, or to both during a cut-over. An event sent to
 * both keeps one id, so the handlers' records make it run once.
 *
 * @module
 */

import type { JobTransport, LegacyConfig } from "../config/mod.ts";
import { transportFor } from "../transport/mod.ts";
import type { JobEvent } from "../jobs/mod.ts";

/** A transport's way of sending a batch of events. */
export type SendEvents = (events: readonly JobEvent[]) => Promise<void>;

/** Events of a batch, split by where they go; an event routed to `both` is in both lists. */
export function splitByTransport(
  config: Pick<LegacyConfig, "transport" | "transportByType">,
  events: readonly JobEvent[],
): { kafka: JobEvent[]; bullmq: JobEvent[] } {
  const kafka: JobEvent[] = [];
  const bullmq: JobEvent[] = [];
  for (const event of events) {
    const transport = transportFor(config, event.type);
    if (transport !== "bullmq") kafka.push(event);
    if (transport !== "kafka") bullmq.push(event);
  }
  return { kafka, bullmq };
}

/**
 * Some transport did not take its events. `events` are the ones it did not
 * take, with their ids: sending exactly these again (`sendEvents`) is safe,
 * since a job that arrives twice under one id runs once.
 */
export class EnqueueError extends Error {
  /** The transports that failed. */
  readonly failed: readonly JobTransport[];
  /** The events to send again, ids unchanged. */
  readonly events: readonly JobEvent[];

  /** An error for the transports in `failures`, each with its cause. */
  constructor(
    failures: readonly { transport: JobTransport; events: readonly JobEvent[]; error: unknown }[],
  ) {
    const reasons = failures.map(({ transport, error }) =>
      `${transport}: ${error instanceof Error ? error.message : String(error)}`
    );
    super(
      `Could not enqueue ${failures.reduce((sum, f) => sum + f.events.length, 0)} job(s) on ` +
        `${reasons.join("; ")}: send error.events again (same ids, so nothing runs twice)`,
      { cause: failures[0]?.error },
    );
    this.name = "EnqueueError";
    this.failed = failures.map((failure) => failure.transport);
    this.events = failures.flatMap((failure) => failure.events);
  }
}

/**
 * A sender that routes each event by type. `kafka` and `bullmq` are only
 * called with events routed to them (so an unused transport may be missing).
 */
export function routedSender(
  config: Pick<LegacyConfig, "transport" | "transportByType">,
  transports: { kafka?: SendEvents; bullmq?: SendEvents },
): SendEvents {
  return async (events) => {
    const split = splitByTransport(config, events);
    const sends = (["kafka", "bullmq"] as const)
      .filter((transport) => split[transport].length > 0)
      .map((transport) => ({ transport, events: split[transport] }));
    const results = await Promise.allSettled(sends.map(({ transport, events }) => {
      const send = transports[transport];
      if (!send) throw new Error(`No ${transport} connection: the producer was built without it`);
      return send(events);
    }));
    const failures = sends.flatMap((send, i) => {
      const result = results[i];
      return result?.status === "rejected" ? [{ ...send, error: result.reason }] : [];
    });
    if (failures.length > 0) throw new EnqueueError(failures);
  };
}
