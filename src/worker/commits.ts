/**
 * Commits that really happened. Per owned partition, the offset after the
 * last message below which everything is finished is committed by interval
 * and by count; an offset counts as committed only once the broker
 * acknowledged it, so a commit that failed or that kafkajs skipped (while its
 * consumer restarts) is sent again with the next one, and an idle
 * partition's last finished work is committed as soon as commits go through
 * again.
 *
 * @module
 */

import { logger } from "../observability/logging.ts";
import type { OwnedPartition } from "./intake.ts";
import type { TopicPartitionOffset } from "./offsets.ts";

/** Options of {@linkcode Committer}. */
export interface CommitterOptions {
  /** Sends a commit; resolves once the broker acknowledged it. */
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** The partitions owned right now. */
  owned(): Iterable<OwnedPartition>;
  /** Commit at least this often while work finishes. */
  intervalMs: number;
  /** Commit once this many jobs finished, without waiting for the interval. */
  batchSize: number;
  /** Told of every acknowledged commit. */
  onCommitted?(owner: OwnedPartition, offset: number): void;
}

const log = logger("worker", "commits");

/** Commits finished offsets, serialized, and only counts acknowledged ones. */
export class Committer {
  readonly #options: CommitterOptions;
  #chain: Promise<void> = Promise.resolve();
  #queued = false;
  #finishedSinceCommit = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Failed commits in a row: the first is a warning, the next ones debug lines. */
  #failures = 0;

  /** A committer; {@linkcode Committer.start} starts its interval. */
  constructor(options: CommitterOptions) {
    this.#options = options;
  }

  /** Commits every `intervalMs` from now on. */
  start(): void {
    this.#timer ??= setInterval(() => void this.commit(), this.#options.intervalMs);
  }

  /** Stops the interval (pending commits still go out). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One more job finished: commits when the batch is full. */
  finished(): void {
    if (++this.#finishedSinceCommit >= this.#options.batchSize) void this.commit();
  }

  /**
   * Commits what moved past the last acknowledged commit; resolves when done
   * (a failure is logged and retried by the next commit, never thrown). A
   * call while one is queued joins it.
   */
  commit(): Promise<void> {
    if (this.#queued) return this.#chain;
    this.#queued = true;
    this.#chain = this.#chain.then(() => this.#commitNow());
    return this.#chain;
  }

  async #commitNow(): Promise<void> {
    this.#queued = false;
    this.#finishedSinceCommit = 0;
    const owners: OwnedPartition[] = [];
    const offsets: TopicPartitionOffset[] = [];
    for (const owner of this.#options.owned()) {
      const offset = owner.offsets.committable();
      if (offset === undefined) continue;
      owners.push(owner);
      offsets.push({ topic: owner.topic, partition: owner.partition, offset: String(offset) });
    }
    if (offsets.length === 0) return;
    try {
      await this.#options.commit(offsets);
    } catch (error) {
      this.#failures++;
      const fields = { error: (error as Error).message, failures: this.#failures };
      if (this.#failures === 1) log.warn("Commit failed, it is sent again: {error}", fields);
      else log.debug("Commit failed again ({failures} in a row): {error}", fields);
      return;
    }
    if (this.#failures > 0) {
      log.info("Commits go through again after {failures} failed ones", {
        failures: this.#failures,
      });
      this.#failures = 0;
    }
    for (let i = 0; i < owners.length; i++) {
      const owner = owners[i]!;
      const offset = Number(offsets[i]!.offset);
      owner.offsets.markCommitted(offset);
      this.#options.onCommitted?.(owner, offset);
    }
    log.debug("Committed {offsets}", { offsets });
  }
}
