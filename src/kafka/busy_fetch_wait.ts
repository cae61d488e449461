/**
 * A consumer with work in progress fetches with a brief wait, so a partition
 * it resumes or seeks is fetched again at once instead of after the fetch
 * wait in flight.
 *
 * kafkajs 2.2.4 cannot cut a fetch short. When the partitions in a fetch
 * request have nothing new, the broker holds the request for the whole fetch
 * wait (`maxWaitTimeInMs`); when every partition a broker leads is paused,
 * kafkajs sleeps that long instead of asking. A partition resumed or sought
 * meanwhile waits out the rest of it. The worker does both while it works: it
 * pauses a partition whose waiting jobs reached their cap and resumes it once
 * they ran, and it seeks back to a key's deferred messages once the key can
 * take them. Those jobs waited up to a whole fetch wait (3.8–4.9 s at
 * kafkajs's 5 s default; up to the worker's 500 ms since).
 *
 * So a consumer group fetches with a wait of at most
 * {@linkcode BUSY_FETCH_WAIT_MS} while it is busy — an assigned partition is
 * paused, or an offset it resolved is not committed yet (jobs are running or
 * deferred) — and with the configured wait once everything it took is
 * committed. A busy consumer that has caught up makes a fetch every 50 ms at
 * most; an idle one long-polls as before.
 *
 * @module
 */

import { kafkajsConsumerGroupClass } from "./kafkajs_package.ts";

/** The kafkajs release this patch was written against and tested with. */
export const BUSY_FETCH_WAIT_KAFKAJS_VERSION = "2.2.4";

/** The longest fetch wait of a busy consumer, in ms. */
export const BUSY_FETCH_WAIT_MS = 50;

/** The part of kafkajs's internal `ConsumerGroup` the patch reads (and its tests build). */
export interface FetchWaitInternals {
  /** How long a fetch waits for data, in ms; read at every fetch. */
  maxWaitTime: number;
  /** The group's assignment and which of it is paused. */
  subscriptionState: { paused(): readonly unknown[] };
  /** Resolved and committed offsets; null until the group is joined. */
  offsetManager: OffsetInternals | null;
}

/** The part of kafkajs's internal `OffsetManager` the patch reads. */
export interface OffsetInternals {
  /** The next offset to fetch, per topic and partition, as decimal text. */
  resolvedOffsets: Record<string, Record<string, string | undefined>>;
  /**
   * The last committed offsets, per topic and partition: text when read from
   * the broker, a kafkajs `Long` when committed through `consumer.commitOffsets`.
   */
  committedOffsets(): Record<string, Record<string, unknown> | undefined>;
}

const PATCHED = Symbol.for("jobpool.kafkajs.busyFetchWait");
const CONFIGURED = Symbol("configured fetch wait");

/**
 * True while `group` has a paused partition or an offset it resolved but
 * did not commit: it may resume or seek at any moment.
 */
function isBusy(group: FetchWaitInternals): boolean {
  return group.subscriptionState.paused().length > 0 ||
    (group.offsetManager !== null && hasUncommittedOffsets(group.offsetManager));
}

/**
 * Compared as text: kafkajs's own `uncommittedOffsets()` compares with `!==`
 * and so counts every offset committed through `consumer.commitOffsets`
 * (stored as a `Long`) as uncommitted for ever.
 */
function hasUncommittedOffsets(offsets: OffsetInternals): boolean {
  const committed = offsets.committedOffsets();
  for (const [topic, partitions] of Object.entries(offsets.resolvedOffsets)) {
    for (const [partition, resolved] of Object.entries(partitions)) {
      if (resolved !== undefined && resolved !== String(committed[topic]?.[partition])) return true;
    }
  }
  return false;
}

/**
 * Makes consumer groups fetch with a brief wait while they are busy.
 * Idempotent; {@linkcode createKafkaClient} calls it. `prototype` is kafkajs's
 * `ConsumerGroup` prototype (tests pass it, or an object to see it refused).
 *
 * @throws {TypeError} when kafkajs is not the expected release or its
 * `ConsumerGroup` prototype already defines `maxWaitTime`: adapt or remove
 * this patch.
 */
export function shortenFetchWaitWhileBusy(
  prototype: object = kafkajsConsumerGroupClass(
    BUSY_FETCH_WAIT_KAFKAJS_VERSION,
    "src/kafka/busy_fetch_wait.ts",
  ).prototype,
): void {
  if (Object.hasOwn(prototype, PATCHED)) return;
  if (Object.hasOwn(prototype, "maxWaitTime")) {
    throw new TypeError(
      "kafkajs's ConsumerGroup prototype already defines maxWaitTime: adapt or remove src/kafka/busy_fetch_wait.ts",
    );
  }
  type Patched = FetchWaitInternals & { [CONFIGURED]: number };
  Object.defineProperty(prototype, "maxWaitTime", {
    configurable: true,
    get(this: Patched): number {
      const configured = this[CONFIGURED];
      return isBusy(this) ? Math.min(configured, BUSY_FETCH_WAIT_MS) : configured;
    },
    // kafkajs's constructor assigns the configured wait; it lands here.
    set(this: Patched, value: number) {
      this[CONFIGURED] = value;
    },
  });
  Object.defineProperty(prototype, PATCHED, { value: true });
}
