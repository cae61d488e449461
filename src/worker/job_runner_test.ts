import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { PartialJobHandlers } from "../handlers/handler.ts";
import {
  createJobEvent,
  DependencyUnavailableError,
  JOB_TYPES,
  type JobEvent,
  LeaseHeldError,
  PermanentJobError,
  RetryLaterError,
  toJobMessage,
} from "../jobs/mod.ts";
import { DependencyBreakers } from "./breakers.ts";
import type { ConsumedMessage } from "./consumer.ts";
import type { DeadLetterReason, OriginalMessage } from "./dead_letter.ts";
import { type JobItem, type JobResult, type JobRunnerOptions, runJob } from "./job_runner.ts";
import { KeyedPool } from "./keyed_pool.ts";
import { noopMetrics } from "./noop_metrics.ts";

function welcome(priority = 1): JobEvent {
  const campaignId = crypto.randomUUID();
  return createJobEvent({
    type: "job.email.welcome",
    accountId: crypto.randomUUID(),
    campaignId,
    data: { type: "welcome", campaign_id: campaignId, user_id: crypto.randomUUID(), priority },
  });
}

function consumed(value: string, headers: Record<string, string> = {}): ConsumedMessage {
  return {
    topic: "jobs",
    partition: 0,
    offset: "7",
    key: Buffer.from("k"),
    value: Buffer.from(value),
    headers,
    timestamp: "0",
  };
}

function gate() {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { promise, open: () => resolve() };
}

function setup(handlers: PartialJobHandlers, overrides: Partial<JobRunnerOptions> = {}) {
  const letters: { message: OriginalMessage; reason: DeadLetterReason }[] = [];
  const outcomes: string[] = [];
  const options: JobRunnerOptions = {
    handlers,
    jobTypes: [...JOB_TYPES],
    retry: { maxAttempts: 3, baseMs: 1, maxMs: 5 },
    jobTimeoutMs: 1_000,
    deadLetters: {
      publish: (message, reason) => Promise.resolve(void letters.push({ message, reason })),
    },
    metrics: { ...noopMetrics(), jobFinished: (_type, outcome) => void outcomes.push(outcome) },
    breakers: new DependencyBreakers(),
    ...overrides,
  };
  return { options, letters, outcomes };
}

/** A job item of `message`, with its partition's signals. */
function item(
  message: ConsumedMessage,
  signals: { stop?: AbortSignal; kill?: AbortSignal } = {},
): JobItem {
  return {
    message,
    stop: signals.stop ?? new AbortController().signal,
    kill: signals.kill ?? new AbortController().signal,
    result: undefined,
    handlerMs: -1,
  };
}

/** A real pool running job items, as the worker has; `ended` resolves with each item's result. */
function jobPool(options: JobRunnerOptions, size = 1) {
  const ends = new Map<JobItem, (result: JobResult | undefined) => void>();
  const pool = new KeyedPool<JobItem>({
    size,
    run: (job, context) => runJob(options, job, context),
    onSettled: (job) => ends.get(job)?.(job.result),
  });
  return {
    submit(key: string, job: JobItem): Promise<JobResult | undefined> {
      const { promise, resolve } = Promise.withResolvers<JobResult | undefined>();
      ends.set(job, resolve);
      pool.submit(key, job);
      return promise;
    },
  };
}

/** Runs the job inside a real pool, as the worker does; resolves with its result. */
function run(
  options: JobRunnerOptions,
  message: ConsumedMessage,
  signals: { stop?: AbortSignal; kill?: AbortSignal } = {},
): Promise<JobResult | undefined> {
  return jobPool(options).submit("k", item(message, signals));
}

Deno.test("runJob runs the handler of the job's type", async () => {
  const event = welcome();
  const seen: string[] = [];
  const { options, outcomes } = setup({
    "job.email.welcome": (job, { attempt, signal }) => {
      seen.push(`${job.id}:${attempt}:${signal.aborted}`);
      return Promise.resolve();
    },
  });
  assert.equal(await run(options, consumed(toJobMessage(event).value)), "finished");
  assert.deepEqual(seen, [`${event.id}:1:false`]);
  assert.deepEqual(outcomes, ["succeeded"]);
});

Deno.test("runJob dead-letters a message that does not decode, with 0 attempts", async () => {
  const { options, letters, outcomes } = setup({});
  const message = consumed("{oops", { "job-type": "job.email.welcome" });
  assert.equal(await run(options, message), "finished");
  assert.equal(letters.length, 1);
  assert.equal(letters[0]!.message, message);
  assert.equal((letters[0]!.reason.error as Error).name, "JobDecodeError");
  assert.equal(letters[0]!.reason.attempts, 0);
  assert.deepEqual(outcomes, ["dead_lettered"]);
});

Deno.test("runJob skips a message whose type header is not its own before decoding it", async () => {
  const { options, letters, outcomes } = setup({}, { jobTypes: ["job.email.welcome"] });
  const message = consumed("{oops", { "job-type": "job.reward.deliver" });
  assert.equal(await run(options, message), "finished");
  assert.equal(letters.length, 0, "another pool's poison message was dead-lettered here too");
  assert.deepEqual(outcomes, ["skipped"]);
  const own = consumed("{oops", { "job-type": "job.email.welcome" });
  assert.equal(await run(options, own), "finished");
  assert.equal(letters.length, 1);
});

Deno.test("runJob labels metrics of an undecodable message with a known type or unknown", async () => {
  const types: string[] = [];
  const { options, letters } = setup({}, {
    metrics: { ...noopMetrics(), jobFinished: (type) => void types.push(type) },
  });
  await run(options, consumed("{oops", { "job-type": "job.email.welcome" }));
  await run(options, consumed("{oops", { "job-type": "anything\nan attacker sends" }));
  await run(options, consumed("{oops"));
  assert.equal(letters.length, 3);
  assert.deepEqual(types, ["job.email.welcome", "unknown", "unknown"]);
});

Deno.test("runJob skips types outside its job types without calling a handler", async () => {
  const { options, letters, outcomes } = setup({
    "job.email.welcome": () => Promise.reject(new Error("must not run")),
  }, { jobTypes: ["job.reward.deliver"] });
  assert.equal(await run(options, consumed(toJobMessage(welcome()).value)), "finished");
  assert.equal(letters.length, 0);
  assert.deepEqual(outcomes, ["skipped"]);
});

Deno.test("runJob dead-letters a type without a handler", async () => {
  const { options, letters } = setup({});
  assert.equal(await run(options, consumed(toJobMessage(welcome()).value)), "finished");
  assert.equal((letters[0]!.reason.error as Error).name, "UnhandledJobTypeError");
});

Deno.test("runJob retries transient failures, then succeeds", async () => {
  const attempts: number[] = [];
  const { options, outcomes } = setup({
    "job.email.welcome": (_job, { attempt }) => {
      attempts.push(attempt);
      if (attempt === 1) return Promise.reject(new Error("busy"));
      if (attempt === 2) return Promise.reject(new RetryLaterError("later", { retryAfterMs: 1 }));
      return Promise.resolve();
    },
  });
  assert.equal(await run(options, consumed(toJobMessage(welcome()).value)), "finished");
  assert.deepEqual(attempts, [1, 2, 3]);
  assert.deepEqual(outcomes, ["retried", "retried", "succeeded"]);
});

Deno.test("runJob dead-letters after the last attempt, and permanent errors at once", async () => {
  const { options, letters } = setup({
    "job.email.welcome": () => Promise.reject(new Error("still down")),
  });
  await run(options, consumed(toJobMessage(welcome()).value));
  assert.equal(letters[0]!.reason.attempts, 3);
  assert.ok(letters[0]!.reason.firstFailureAt <= letters[0]!.reason.lastFailureAt);

  const permanent = setup({
    "job.email.welcome": () => Promise.reject(new PermanentJobError("no such user")),
  });
  await run(permanent.options, consumed(toJobMessage(welcome()).value));
  assert.equal(permanent.letters[0]!.reason.attempts, 1);
});

Deno.test("runJob aborts a handler past its deadline, even one that ignores its signal", async () => {
  let sawAbort = false;
  const { options, letters } = setup({
    "job.email.welcome": (_job, { signal }) => {
      signal.addEventListener("abort", () => sawAbort = true);
      return new Promise((resolve) => setTimeout(resolve, 30));
    },
  }, { jobTimeoutMs: 5, retry: { maxAttempts: 1, baseMs: 1, maxMs: 1 } });
  assert.equal(await run(options, consumed(toJobMessage(welcome()).value)), "finished");
  assert.equal(sawAbort, true);
  assert.equal((letters[0]!.reason.error as Error).name, "JobTimeoutError");
});

Deno.test("runJob retries a timed-out job only once its handler returned", async () => {
  let running = 0;
  let overlapped = false;
  const { options } = setup({
    "job.email.welcome": async (_job, { attempt }) => {
      overlapped ||= running > 0;
      running++;
      // The first attempt ignores its signal and returns well after its deadline.
      if (attempt === 1) await new Promise((resolve) => setTimeout(resolve, 40));
      running--;
    },
  }, { jobTimeoutMs: 5, retry: { maxAttempts: 2, baseMs: 1, maxMs: 1 } });
  assert.equal(await run(options, consumed(toJobMessage(welcome()).value)), "finished");
  assert.equal(overlapped, false, "the retry ran alongside the timed-out attempt");
});

Deno.test("runJob past the grace keeps its key, frees its slot, and retries once the handler returned", async () => {
  const events: string[] = [];
  const slow = gate();
  const { options } = setup({
    "job.email.welcome": async (job, { attempt }) => {
      events.push(`${job.data.priority}:${attempt}`);
      if (job.data.priority === 0 && attempt === 1) await slow.promise;
    },
  }, { jobTimeoutMs: 5, abortGraceMs: 10, retry: { maxAttempts: 2, baseMs: 1, maxMs: 1 } });
  const pool = jobPool(options);
  const results: Promise<JobResult | undefined>[] = [];
  const submit = (key: string, priority: number) => {
    const event = welcome(priority);
    results.push(pool.submit(key, item(consumed(toJobMessage(event).value))));
  };
  submit("stuck", 0);
  submit("stuck", 2);
  submit("other", 1);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.deepEqual(events, ["0:1", "1:1"], "the other key gets the slot, the stuck key waits");
  slow.open();
  assert.deepEqual(await Promise.all(results), ["finished", "finished", "finished"]);
  assert.deepEqual(events, ["0:1", "1:1", "0:2", "2:1"]);
});

Deno.test("runJob abandons a job whose partition is lost instead of retrying it", async () => {
  const stop = new AbortController();
  const kill = new AbortController();
  const { options, letters } = setup({
    "job.email.welcome": () => {
      stop.abort();
      kill.abort();
      return Promise.reject(new Error("interrupted"));
    },
  });
  const result = await run(options, consumed(toJobMessage(welcome()).value), {
    stop: stop.signal,
    kill: kill.signal,
  });
  assert.equal(result, "abandoned");
  assert.equal(letters.length, 0);
  assert.equal(await run(options, consumed("{}"), { stop: stop.signal }), "abandoned");
});

Deno.test("runJob keeps trying to publish a dead letter until it is stored", async () => {
  let calls = 0;
  const { options } = setup({}, {
    deadLetters: {
      publish: () => ++calls < 3 ? Promise.reject(new Error("broker away")) : Promise.resolve(),
    },
  });
  assert.equal(await run(options, consumed("{oops")), "finished");
  assert.equal(calls, 3);
});

Deno.test("runJob ends a handler that never reads its signal at its deadline", async () => {
  const { options, letters } = setup({
    "job.email.welcome": () => new Promise((resolve) => setTimeout(resolve, 30)),
  }, { jobTimeoutMs: 5, retry: { maxAttempts: 1, baseMs: 1, maxMs: 1 } });
  const results = await Promise.all(
    Array.from({ length: 3 }, () => run(options, consumed(toJobMessage(welcome()).value))),
  );
  assert.deepEqual(results, ["finished", "finished", "finished"]);
  assert.deepEqual(letters.map((letter) => (letter.reason.error as Error).name), [
    "JobTimeoutError",
    "JobTimeoutError",
    "JobTimeoutError",
  ]);
});

Deno.test("runJob's kill signal ends the running handlers of its partition only", async () => {
  const partitions = [0, 1].map(() => ({
    stop: new AbortController(),
    kill: new AbortController(),
    signals: [] as AbortSignal[],
  }));
  const { options } = setup({
    "job.email.welcome": (job, { signal }) => {
      partitions[Number(job.data.priority)]!.signals.push(signal);
      return new Promise(() => {});
    },
  });
  const runs = partitions.map((partition, index) => {
    const event = welcome(index);
    return run(options, consumed(toJobMessage(event).value), {
      stop: partition.stop.signal,
      kill: partition.kill.signal,
    });
  });
  await new Promise((resolve) => setTimeout(resolve, 5));
  const [first, second] = partitions;
  first!.stop.abort();
  first!.kill.abort(new Error("revoked"));
  assert.equal(await runs[0], "abandoned");
  assert.equal(first!.signals[0]!.aborted, true);
  assert.equal(second!.signals[0]!.aborted, false);
  second!.stop.abort();
  second!.kill.abort(new Error("stopping"));
  assert.equal(await runs[1], "abandoned");
  assert.equal(second!.signals[0]!.aborted, true);
});

Deno.test("runJob writes the result and handler time on the item before its promise settles", async () => {
  const { options } = setup({
    "job.email.welcome": (_job, { attempt }) =>
      attempt === 1 ? Promise.reject(new Error("busy")) : Promise.resolve(),
  }, { jobTypes: ["job.email.welcome"] });
  const reward = createJobEvent({
    type: "job.reward.deliver",
    accountId: crypto.randomUUID(),
    campaignId: crypto.randomUUID(),
    data: { user_reward_id: crypto.randomUUID() },
  });
  const cases = [
    { value: toJobMessage(welcome()).value, ran: true },
    { value: "{oops", ran: false },
    { value: toJobMessage(reward).value, ran: false },
  ];
  for (const { value, ran } of cases) {
    const pool = new KeyedPool<JobItem>({ size: 1, run: (job, c) => runJob(options, job, c) });
    const job = item(consumed(value));
    pool.submit("k", job);
    await pool.idle();
    assert.equal(job.result, "finished");
    assert.equal(job.handlerMs >= 0, ran);
  }
});

Deno.test("runJob waits for a claim held elsewhere without using an attempt, past the last one", async () => {
  const attempts: number[] = [];
  const { options, letters, outcomes } = setup({
    "job.email.welcome": (_job, { attempt }) => {
      attempts.push(attempt);
      if (attempts.length <= 5) {
        return Promise.reject(new LeaseHeldError("held", { retryAfterMs: 1 }));
      }
      return Promise.resolve();
    },
  });
  assert.equal(await run(options, consumed(toJobMessage(welcome()).value)), "finished");
  assert.equal(letters.length, 0);
  assert.deepEqual(attempts, [1, 1, 1, 1, 1, 1]);
  assert.deepEqual(outcomes, ["waited", "waited", "waited", "waited", "waited", "succeeded"]);
});

Deno.test("runJob waits out a dependency outage without using attempts, then resumes", async () => {
  const attempts: number[] = [];
  const breakers = new DependencyBreakers({
    failureThreshold: 1,
    probeIntervalMinMs: 1,
    probeIntervalMaxMs: 2,
  });
  const { options, letters } = setup({
    "job.email.welcome": (_job, { attempt }) => {
      attempts.push(attempt);
      if (attempts.length <= 8) {
        return Promise.reject(new DependencyUnavailableError("smtp", "SMTP 421"));
      }
      return Promise.resolve();
    },
  }, { breakers });
  assert.equal(await run(options, consumed(toJobMessage(welcome()).value)), "finished");
  breakers.close();
  assert.equal(letters.length, 0, "an outage was dead-lettered");
  assert.deepEqual(new Set(attempts), new Set([1]));
  assert.equal(breakers.unavailable().length, 0);
});

Deno.test("runJob counts an isolated dependency failure (others succeed) as an attempt", async () => {
  const attempts: number[] = [];
  const { options } = setup({
    "job.email.welcome": (_job, { attempt }) => {
      attempts.push(attempt);
      return attempt === 1
        ? Promise.reject(new DependencyUnavailableError("smtp", "452 mailbox full"))
        : Promise.resolve();
    },
  }, { breakers: new DependencyBreakers({ failureThreshold: 3 }) });
  assert.equal(await run(options, consumed(toJobMessage(welcome()).value)), "finished");
  assert.deepEqual(attempts, [1, 2]);
});

Deno.test("runJob names the envelope's type on a dead letter without a job-type header", async () => {
  const { options, letters } = setup({});
  const value = JSON.stringify({ ...welcome(), data: { nope: true } });
  await run(options, consumed(value));
  assert.equal(letters[0]!.reason.jobType, "job.email.welcome");
  assert.equal(letters[0]!.reason.attempts, 0);
});
