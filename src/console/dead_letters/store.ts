/**
 * The dead-letter topic as the console sees it: read with the CLI's reader
 * (`src/cli/dead_letters.ts`), kept until the topic's log ends move, and
 * replayed with the CLI's replay.
 *
 * @module
 */

import type { Admin, Kafka } from "kafkajs";
import {
  type DeadLetter,
  type DeadLetterPosition,
  formatPosition,
  readDeadLetters,
  replayDeadLetters,
} from "../../cli/dead_letters.ts";

/** Options of {@linkcode DeadLetterStore}. */
export interface DeadLetterStoreOptions {
  /** The client reading and replaying. */
  kafka: Kafka;
  /** A connected admin client of the same cluster. */
  admin: Admin;
  /** The dead-letter topic. */
  topic: string;
  /** Where replays go: the job topic. */
  jobTopic: string;
  /** Prefix of the reader's throwaway consumer groups. */
  groupPrefix: string;
}

/** A replay this console made: when, and by whom. */
export interface ReplayRecord {
  /** When (ISO 8601). */
  at: string;
  /** Who: `session <id prefix>` or `bearer token`. */
  actor: string;
}

/** Cached reads of the dead-letter topic, and replays. */
export class DeadLetterStore {
  readonly #options: DeadLetterStoreOptions;
  #cache: { ends: string; letters: DeadLetter[] } | undefined;
  #reading: Promise<DeadLetter[]> | undefined;
  readonly #replays = new Map<string, ReplayRecord>();

  /** A store over `options.topic`. */
  constructor(options: DeadLetterStoreOptions) {
    this.#options = options;
  }

  /** The dead-letter topic's name. */
  get topic(): string {
    return this.#options.topic;
  }

  /**
   * Every dead letter, oldest offset first per partition. Reads the topic
   * again only when its log ends moved since the last read; concurrent
   * callers share one read.
   */
  async list(): Promise<DeadLetter[]> {
    const ends = await this.#logEnds();
    if (this.#cache?.ends === ends) return this.#cache.letters;
    this.#reading ??= readDeadLetters(this.#options.kafka, {
      topic: this.#options.topic,
      groupPrefix: this.#options.groupPrefix,
    }).then((letters) => {
      this.#cache = { ends, letters };
      return letters;
    }).finally(() => this.#reading = undefined);
    return await this.#reading;
  }

  /** The dead letters at `positions`, and the positions that hold none. */
  async find(
    positions: readonly DeadLetterPosition[],
  ): Promise<{ found: DeadLetter[]; missing: string[] }> {
    const byPosition = new Map(
      (await this.list()).map((letter) => [formatPosition(letter), letter]),
    );
    const found: DeadLetter[] = [];
    const missing: string[] = [];
    for (const position of positions) {
      const letter = byPosition.get(formatPosition(position));
      if (letter) found.push(letter);
      else missing.push(formatPosition(position));
    }
    return { found, missing };
  }

  /** Publishes `letters` to the job topic as first sent, and remembers who did. */
  async replay(letters: readonly DeadLetter[], actor: string): Promise<void> {
    await replayDeadLetters(this.#options.kafka, this.#options.jobTopic, letters);
    const at = new Date().toISOString();
    for (const letter of letters) this.#replays.set(formatPosition(letter), { at, actor });
  }

  /** The last replay of the dead letter at `position` by this console, if any. */
  replayOf(position: DeadLetterPosition): ReplayRecord | undefined {
    return this.#replays.get(formatPosition(position));
  }

  async #logEnds(): Promise<string> {
    const offsets = await this.#options.admin.fetchTopicOffsets(this.#options.topic);
    return offsets.map(({ partition, high }) => `${partition}:${high}`).sort().join(",");
  }
}
