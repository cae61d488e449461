/**
 * A consumer that kafkajs restarts re-joins its group as the member it was.
 *
 * kafkajs 2.2.4 restarts a consumer after a retriable crash (the broker gone,
 * its coordinator moved) with a new `ConsumerGroup`, whose member id is
 * empty: the coordinator takes it for a second member and holds the group
 * until the first one's session ends. After a broker outage new work waited
 * that long once the broker was back (9.7 s in the drill, whose worker
 * sessions last 10 s). Kafka's own clients keep their member id across such
 * errors and drop it only when the coordinator no longer knows it; so does
 * this patch:
 *
 * - a consumer's next `ConsumerGroup` starts its join with the member id its
 *   previous one last had;
 * - an `UNKNOWN_MEMBER_ID` answer makes kafkajs clear it and join afresh
 *   (kafkajs's own handling, unchanged);
 * - a successful leave (a graceful stop) forgets it.
 *
 * A consumer is recognised by its instrumentation emitter, which kafkajs
 * makes once per consumer and hands to every `ConsumerGroup` it starts, so two
 * consumers of one group in one process never share an id.
 *
 * @module
 */

import { kafkajsConsumerGroupClass } from "./kafkajs_package.ts";

/** The kafkajs release this patch was written against and tested with. */
export const MEMBER_REJOIN_KAFKAJS_VERSION = "2.2.4";

/** The part of kafkajs's internal `ConsumerGroup` the patch touches (and its tests fake). */
export interface ConsumerGroupInternals {
  /** The member id the coordinator gave, or null before a join and after a leave. */
  memberId: string | null;
  /** One per consumer, shared by all the groups it starts. */
  instrumentationEmitter: object;
  joinAndSync(): Promise<void>;
  leave(): Promise<void>;
}

const PATCHED = Symbol.for("jobpool.kafkajs.memberRejoin");

/**
 * kafkajs's internal `ConsumerGroup` class, loaded from the very kafkajs
 * package `import "kafkajs"` resolves to.
 *
 * @throws {TypeError} when that kafkajs is not {@linkcode MEMBER_REJOIN_KAFKAJS_VERSION}.
 */
export function kafkajsConsumerGroup(): { prototype: ConsumerGroupInternals } {
  return kafkajsConsumerGroupClass(
    MEMBER_REJOIN_KAFKAJS_VERSION,
    "src/kafka/member_rejoin.ts",
  ) as { prototype: ConsumerGroupInternals };
}

/**
 * Makes consumers restarted by kafkajs re-join as the member they were.
 * Idempotent; {@linkcode createKafkaClient} calls it. `prototype` is
 * kafkajs's `ConsumerGroup` prototype (tests pass a stand-in).
 *
 * @throws {TypeError} when kafkajs is not the expected release or its
 * `ConsumerGroup` lacks `joinAndSync` or `leave`: adapt or remove this patch.
 */
export function rejoinAsSameMember(
  prototype: ConsumerGroupInternals = kafkajsConsumerGroup().prototype,
): void {
  const target = prototype as ConsumerGroupInternals & { [PATCHED]?: true };
  if (target[PATCHED]) return;
  const joinAndSync = target.joinAndSync;
  const leave = target.leave;
  if (typeof joinAndSync !== "function" || typeof leave !== "function") {
    throw new TypeError(
      "kafkajs's ConsumerGroup has no joinAndSync or leave: adapt or remove src/kafka/member_rejoin.ts",
    );
  }
  /** The last member id of each consumer, by its instrumentation emitter. */
  const lastMemberIds = new WeakMap<object, string>();
  target.joinAndSync = async function (this: ConsumerGroupInternals): Promise<void> {
    const consumer = this.instrumentationEmitter;
    if (!this.memberId) this.memberId = lastMemberIds.get(consumer) ?? null;
    try {
      await joinAndSync.call(this);
    } finally {
      if (this.memberId) lastMemberIds.set(consumer, this.memberId);
      else lastMemberIds.delete(consumer);
    }
  };
  target.leave = async function (this: ConsumerGroupInternals): Promise<void> {
    await leave.call(this);
    // Left for good: the coordinator forgot the member too.
    lastMemberIds.delete(this.instrumentationEmitter);
  };
  target[PATCHED] = true;
}
