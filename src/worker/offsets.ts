/**
 * Which offset of each partition is safe to commit. Messages are registered
 * in fetch order and finished in any order; the committable offset is the one
 * after the last message below which every message is finished, so a commit
 * never passes an unfinished message (Kafka's convention: the committed
 * offset is the next one to read).
 *
 * Offsets are kept as numbers: exact up to 2^53, which a partition would
 * reach after centuries at a million messages a second.
 *
 * @module
 */

/** A topic-partition and the offset to commit for it. */
export interface TopicPartitionOffset {
  /** The topic. */
  topic: string;
  /** The partition. */
  partition: number;
  /** The next offset to read, as kafkajs expects it. */
  offset: string;
}

/** The offsets of one partition. */
export class PartitionOffsets {
  /** Registered offsets not yet passed by the commit point, in fetch order. */
  readonly #order: number[] = [];
  #head = 0;
  readonly #finished = new Set<number>();
  #committable: number | undefined;
  #committed: number | undefined;
  #last = -1;
  #first: number | undefined;

  /** Records a fetched message; offsets must grow (gaps are fine). */
  register(offset: number): void {
    if (offset <= this.#last) {
      throw new RangeError(`Offset ${offset} registered after ${this.#last}: offsets must grow`);
    }
    this.#last = offset;
    this.#first ??= offset;
    this.#order.push(offset);
  }

  /** True when `offset` was registered (so a redelivery can be told apart). */
  has(offset: number): boolean {
    return offset <= this.#last;
  }

  /** The first offset registered, or undefined before any. */
  get first(): number | undefined {
    return this.#first;
  }

  /** The offset after the last registered message, or undefined before any. */
  get nextOffset(): number | undefined {
    return this.#last < 0 ? undefined : this.#last + 1;
  }

  /**
   * The first offset not known to be finished: the commit point, or the
   * first registered offset before anything finished. Lag is measured from here.
   */
  get position(): number | undefined {
    return this.#committable ?? this.#first;
  }

  /** Registered messages not finished yet. */
  get unfinished(): number {
    return this.#order.length - this.#head - this.#finished.size;
  }

  /** Marks a registered message as finished (processed, dead-lettered or skipped). */
  finish(offset: number): void {
    const first = this.#order[this.#head];
    // Unknown or already passed offsets (a late finish after a redelivery) change nothing.
    if (first === undefined || offset < first || offset > this.#last) return;
    if (offset === first) {
      // In order (the common case): the commit point moves without the set.
      this.#head++;
      this.#committable = first + 1;
    } else {
      this.#finished.add(offset);
    }
    while (this.#finished.size > 0 && this.#head < this.#order.length) {
      const first = this.#order[this.#head]!;
      if (!this.#finished.delete(first)) break;
      this.#head++;
      this.#committable = first + 1;
    }
    // Compact now and then, so a long-lived partition does not keep every offset.
    if (this.#head > 1024 && this.#head * 2 > this.#order.length) {
      this.#order.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /** The offset to commit, when it moved past the last committed one. */
  committable(): number | undefined {
    if (this.#committable === undefined) return undefined;
    if (this.#committed !== undefined && this.#committable <= this.#committed) return undefined;
    return this.#committable;
  }

  /** The last offset known to be committed. */
  get committed(): number | undefined {
    return this.#committed;
  }

  /** Records a successful commit of `offset`. */
  markCommitted(offset: number): void {
    if (this.#committed === undefined || offset > this.#committed) this.#committed = offset;
  }
}

/** `topic:partition`, the key of a partition in maps. */
export function partitionId(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}
