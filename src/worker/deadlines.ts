/**
 * One call of a job's handler under its deadline: the context the handler
 * gets (`signal`, `log`, `attempt`) and the deadline queues that abort
 * attempts that run too long, with one timer per queue rather than one per
 * job.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { HandlerContext } from "../handlers/handler.ts";
import type { JobEvent, JobType } from "../jobs/mod.ts";
import { logger } from "../observability/logging.ts";
import type { ConsumedMessage } from "./consumer.ts";
import { JobTimeoutError, UnhandledJobTypeError } from "./retry.ts";

/** A handler as the worker calls it, whatever its job type. */
export type AnyJobHandler = (job: JobEvent, context: HandlerContext) => Promise<void>;

/** Options of {@linkcode HandlerAttempt}. */
export interface HandlerAttemptOptions {
  /** The job's deadline per attempt. */
  timeoutMs: number;
  /** The consumed message (its topic, partition and offset go into the log). */
  message: ConsumedMessage;
  /** The decoded event. */
  event: JobEvent;
  /** Aborted when running handlers of the message's partition must give up. */
  kill: AbortSignal;
  /** The attempt's number, 1 on the first try. */
  attempt: number;
  /** `performance.now()` when the attempt started. */
  startedAt: number;
}

const baseLog = logger("worker", "job");

/** The log fields of a message: topic, partition, offset. */
export function messageFields(message: ConsumedMessage): Record<string, unknown> {
  return { topic: message.topic, partition: message.partition, offset: message.offset };
}

/**
 * One call of a handler, and the context it gets. `signal` and `log` are
 * made on first read: a handler that reads neither costs neither.
 *
 * Deadlines: every running attempt with the same timeout sits in one
 * doubly linked list in start order, which is then also deadline order, with
 * one timer armed for the earliest. Ending an attempt unlinks it (no hashing,
 * no allocation). A list that empties keeps its timer but stops it from
 * holding the process open (unref); an attempt entering the empty list refs it
 * again. The timer then fires at the earliest deadline it was armed for (never
 * later than the new attempt's, whose timeout is the same) and is re-armed for
 * the list's first, or left unarmed when the list is empty. Creating and
 * clearing a timer costs about a microsecond, and a pool that drains between
 * fetches would otherwise pay it every few jobs. The partition's `kill`
 * signal gets one listener per signal (not per attempt), which aborts the
 * attempts of that partition.
 */
export class HandlerAttempt implements HandlerContext {
  static readonly #queues = new Map<number, DeadlineQueue>();
  static readonly #watched = new WeakSet<AbortSignal>();

  /** 1 on the first try. */
  readonly attempt: number;
  readonly #event: JobEvent;
  readonly #message: ConsumedMessage;
  readonly #kill: AbortSignal;
  readonly #deadline: number;
  readonly #queue: DeadlineQueue;
  #controller: AbortController | undefined;
  #log: Logger | undefined;
  #aborted = false;
  #reason: unknown;
  #settled = false;
  #onFail: ((reason: unknown) => void) | undefined;
  /** The handler's promise until it settles (kept for an aborted attempt). */
  #work: Promise<void> | undefined;
  #linked = false;
  #prev: HandlerAttempt | undefined;
  #next: HandlerAttempt | undefined;

  /** An attempt of `event`'s handler, due `timeoutMs` after `startedAt`. */
  constructor(options: HandlerAttemptOptions) {
    const { timeoutMs } = options;
    this.attempt = options.attempt;
    this.#event = options.event;
    this.#message = options.message;
    this.#kill = options.kill;
    this.#deadline = options.startedAt + timeoutMs;
    let queue = HandlerAttempt.#queues.get(timeoutMs);
    if (!queue) {
      queue = { timeoutMs, first: undefined, last: undefined, timer: undefined };
      HandlerAttempt.#queues.set(timeoutMs, queue);
    }
    this.#queue = queue;
  }

  /** The job's type. */
  get type(): JobType {
    return this.#event.type;
  }

  /** Aborted when the deadline passes or the partition's handlers are killed. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** A logger carrying the job's id, type, campaign, partition, offset and attempt. */
  get log(): Logger {
    this.#log ??= baseLog.with({
      ...messageFields(this.#message),
      job_id: this.#event.id,
      job_type: this.#event.type,
      campaign_id: this.#event.campaign_id,
      attempt: this.attempt,
    });
    return this.#log;
  }

  /**
   * Calls `handler`, then exactly one of `onDone` and `onFail`: as the
   * handler settles, or with the reason as soon as the deadline passes or
   * `kill` aborts, even when the handler ignores its signal.
   */
  start(
    handler: AnyJobHandler | undefined,
    onDone: () => void,
    onFail: (error: unknown) => void,
  ): void {
    if (!handler) {
      this.#settled = true;
      onFail(new UnhandledJobTypeError(this.#event.type));
      return;
    }
    this.#onFail = onFail;
    this.#enter();
    let work: Promise<void>;
    try {
      work = Promise.resolve(handler(this.#event, this));
    } catch (error) {
      if (this.#settle()) onFail(error);
      return;
    }
    this.#work = work;
    work.then(
      () => {
        this.#work = undefined;
        if (this.#settle()) onDone();
      },
      (error) => {
        this.#work = undefined;
        if (this.#settle()) onFail(error);
      },
    );
  }

  /** The handler's promise when the attempt was aborted and the handler has not settled yet. */
  stillRunning(): Promise<void> | undefined {
    return this.#aborted ? this.#work : undefined;
  }

  /** True the first time: the attempt ends here and leaves its deadline queue. */
  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#leave();
    return true;
  }

  #abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    if (this.#settle()) this.#onFail?.(reason);
  }

  #enter(): void {
    const queue = this.#queue;
    this.#linked = true;
    this.#prev = queue.last;
    if (queue.last) queue.last.#next = this;
    else {
      queue.first = this;
      if (queue.timer !== undefined) Deno.refTimer(queue.timer);
    }
    queue.last = this;
    if (queue.timer === undefined) HandlerAttempt.#arm(queue, this.#deadline);
    const kill = this.#kill;
    if (kill.aborted) {
      this.#abort(kill.reason);
    } else if (!HandlerAttempt.#watched.has(kill)) {
      HandlerAttempt.#watched.add(kill);
      kill.addEventListener("abort", () => HandlerAttempt.#killed(kill), { once: true });
    }
  }

  #leave(): void {
    if (!this.#linked) return;
    this.#linked = false;
    const queue = this.#queue;
    const prev = this.#prev;
    const next = this.#next;
    if (prev) prev.#next = next;
    else queue.first = next;
    if (next) next.#prev = prev;
    else queue.last = prev;
    this.#prev = undefined;
    this.#next = undefined;
    if (queue.first === undefined && queue.timer !== undefined) Deno.unrefTimer(queue.timer);
  }

  static #arm(queue: DeadlineQueue, deadline: number): void {
    if (queue.timer !== undefined) clearTimeout(queue.timer);
    queue.timer = setTimeout(
      () => HandlerAttempt.#sweep(queue),
      Math.max(0, Math.ceil(deadline - performance.now())),
    );
  }

  /** Aborts every attempt past its deadline, then waits for the next one (if any). */
  static #sweep(queue: DeadlineQueue): void {
    queue.timer = undefined;
    const now = performance.now();
    for (let attempt = queue.first; attempt; attempt = queue.first) {
      if (attempt.#deadline > now) {
        HandlerAttempt.#arm(queue, attempt.#deadline);
        return;
      }
      // Unlinks it: the loop goes on with the new first.
      attempt.#abort(new JobTimeoutError(queue.timeoutMs));
    }
  }

  /** `kill` aborted: every running attempt of its partition ends now. */
  static #killed(kill: AbortSignal): void {
    for (const queue of HandlerAttempt.#queues.values()) {
      const killed: HandlerAttempt[] = [];
      for (let attempt = queue.first; attempt; attempt = attempt.#next) {
        if (attempt.#kill === kill) killed.push(attempt);
      }
      for (const attempt of killed) attempt.#abort(kill.reason);
    }
  }
}

/** The running attempts of one timeout, earliest deadline first. */
interface DeadlineQueue {
  readonly timeoutMs: number;
  first: HandlerAttempt | undefined;
  last: HandlerAttempt | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
}
