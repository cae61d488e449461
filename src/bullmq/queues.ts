/**
 * Enqueueing job events on BullMQ queues, in the shape jobpool's legacy
 * worker and bridge read back: the job's name is the event's type, its data
 * the whole envelope, and its BullMQ job id the event id, so that adding the
 * same event twice leaves one job (BullMQ ignores a duplicate job id).
 *
 * @module
 */

import { Queue } from "bullmq";
import type { LegacyConfig } from "../config/mod.ts";
import type { JobEvent } from "../jobs/mod.ts";
import { redisOptions } from "./connection.ts";
import { queueFor } from "../transport/mod.ts";

/** The BullMQ queues a producer writes to, opened on first use. */
export class LegacyQueues {
  readonly #config: LegacyConfig;
  readonly #queues = new Map<string, Queue>();

  /** Queues of `config` (`BULLMQ_*`). */
  constructor(config: LegacyConfig) {
    this.#config = config;
  }

  /** The queue called `name`, opened when first asked for. */
  queue(name: string): Queue {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new Queue(name, {
        connection: redisOptions(this.#config),
        prefix: this.#config.prefix,
      });
      // Connection errors also reject the calls that meet them; this keeps
      // the emitter from treating them as unhandled.
      queue.on("error", () => {});
      this.#queues.set(name, queue);
    }
    return queue;
  }

  /** Adds `events`, each to its type's queue; resolves once Redis has them all. */
  async add(events: readonly JobEvent[]): Promise<void> {
    const byQueue = new Map<string, JobEvent[]>();
    for (const event of events) {
      const name = queueFor(this.#config, event.type);
      byQueue.set(name, [...byQueue.get(name) ?? [], event]);
    }
    await Promise.all(
      [...byQueue].map(([name, batch]) =>
        this.queue(name).addBulk(batch.map((event) => ({
          name: event.type,
          data: event,
          opts: { jobId: event.id },
        })))
      ),
    );
  }

  /** Closes every opened queue. */
  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((queue) => queue.close()));
    this.#queues.clear();
  }
}
