import assert from "node:assert/strict";
import { createJobEvent, PermanentJobError } from "../../src/jobs/mod.ts";
import { DEAD_LETTER_HEADERS, runWorker } from "../../src/worker/mod.ts";
import {
  committedOffsets,
  emailJob,
  header,
  produce,
  readDeadLetters,
  setupTopic,
  waitUntil,
} from "./fixtures/worker_harness.ts";

Deno.test("worker dead-letters poison messages with their reason while the partition keeps flowing", async () => {
  const config = await setupTopic("worker_poison", {
    partitions: 1,
    env: { KAFKA_JOB_TYPES: "job.email.*,job.reward.deliver", JOB_MAX_ATTEMPTS: "4" },
  });
  const campaign = crypto.randomUUID();
  const good = [emailJob(campaign), emailJob(campaign), emailJob(campaign)];
  const refused = emailJob(campaign);
  const flaky = emailJob(campaign);
  const noHandler = createJobEvent({
    type: "job.reward.deliver",
    accountId: crypto.randomUUID(),
    campaignId: campaign,
    data: { user_reward_id: crypto.randomUUID() },
  });
  const otherPool = createJobEvent({
    type: "job.position.recalculate",
    accountId: crypto.randomUUID(),
    campaignId: campaign,
    data: { campaign_id: campaign, points_per_referral: 1 },
  });
  const invalid = { ...emailJob(campaign), data: { nope: true } };
  await produce(config, [
    good[0]!,
    { key: campaign, value: "{not json", headers: { "job-type": "job.email.welcome" } },
    { key: campaign, value: JSON.stringify({ ...emailJob(campaign), type: "job.nope" }) },
    { key: campaign, value: JSON.stringify(invalid) },
    refused,
    noHandler,
    otherPool,
    flaky,
    good[1]!,
    good[2]!,
  ]);
  const total = 10;

  const handled: string[] = [];
  const flakyAttempts: number[] = [];
  const worker = await runWorker({
    config,
    handlers: {
      "job.email.welcome": (job, { attempt }) => {
        if (job.id === refused.id) throw new PermanentJobError("Refused: the user opted out");
        if (job.id === flaky.id) {
          flakyAttempts.push(attempt);
          if (attempt < 3) throw new Error("SMTP server busy");
        }
        handled.push(job.id);
        return Promise.resolve();
      },
      "job.position.recalculate": () => {
        throw new Error("must be skipped: not in KAFKA_JOB_TYPES");
      },
    },
  });
  try {
    await waitUntil(
      async () => (await committedOffsets(config)).get(0) === total,
      "the commit of every message",
    );
    assert.deepEqual(handled, [good[0]!.id, flaky.id, good[1]!.id, good[2]!.id]);
    assert.deepEqual(flakyAttempts, [1, 2, 3]);

    const letters = await readDeadLetters(config, 5);
    const byOffset = new Map(
      letters.map((letter) => [header(letter, DEAD_LETTER_HEADERS.originalOffset), letter]),
    );
    const expected: [string, string, string][] = [
      ["1", "JobDecodeError", "not UTF-8 JSON"],
      ["2", "JobDecodeError", "unknown job type"],
      ["3", "JobDecodeError", 'field "data'],
      ["4", "PermanentJobError", "opted out"],
      ["5", "UnhandledJobTypeError", "job.reward.deliver"],
    ];
    assert.equal(letters.length, expected.length);
    for (const [offset, errorClass, message] of expected) {
      const letter = byOffset.get(offset);
      assert.ok(letter, `dead letter of offset ${offset}`);
      assert.equal(header(letter, DEAD_LETTER_HEADERS.errorClass), errorClass);
      assert.match(header(letter, DEAD_LETTER_HEADERS.errorMessage) ?? "", new RegExp(message));
      assert.equal(header(letter, DEAD_LETTER_HEADERS.originalTopic), config.kafka.topic);
      assert.equal(header(letter, DEAD_LETTER_HEADERS.originalPartition), "0");
      assert.equal(letter.key?.toString(), campaign);
      assert.ok(header(letter, DEAD_LETTER_HEADERS.firstFailureAt));
      assert.ok(header(letter, DEAD_LETTER_HEADERS.lastFailureAt));
    }
    assert.equal(byOffset.get("1")?.value?.toString(), "{not json");
    assert.equal(header(byOffset.get("1")!, "job-type"), "job.email.welcome");
    assert.equal(header(byOffset.get("4")!, DEAD_LETTER_HEADERS.attempts), "1");
    assert.equal(header(byOffset.get("1")!, DEAD_LETTER_HEADERS.attempts), "0");
  } finally {
    await worker.stop();
  }
});

Deno.test("worker dead-letters a job whose transient failures outlast its attempts", async () => {
  const config = await setupTopic("worker_exhaust", {
    partitions: 1,
    env: { JOB_MAX_ATTEMPTS: "9", JOB_MAX_ATTEMPTS_BY_TYPE: "job.email.*=2" },
  });
  const doomed = emailJob(crypto.randomUUID());
  const fine = emailJob(crypto.randomUUID());
  await produce(config, [doomed, fine]);
  let attempts = 0;
  const worker = await runWorker({
    config,
    handlers: {
      "job.email.welcome": (job) => {
        if (job.id === doomed.id) {
          attempts++;
          throw new Error("database unavailable");
        }
        return Promise.resolve();
      },
    },
  });
  try {
    const [letter] = await readDeadLetters(config, 1);
    assert.equal(attempts, 2);
    assert.equal(header(letter!, DEAD_LETTER_HEADERS.attempts), "2");
    assert.equal(header(letter!, DEAD_LETTER_HEADERS.errorClass), "Error");
    assert.equal(header(letter!, DEAD_LETTER_HEADERS.errorMessage), "database unavailable");
    await waitUntil(async () => (await committedOffsets(config)).get(0) === 2, "the commit");
  } finally {
    await worker.stop();
  }
});

Deno.test("worker dead-letters an event from the future, and names the envelope's type and every bad field", async () => {
  const config = await setupTopic("worker_future", { partitions: 1 });
  const campaign = crypto.randomUUID();
  const future = { ...emailJob(campaign), timestamp: "9999-12-31T23:59:59Z" };
  const broken = { ...emailJob(campaign), account_id: "nope", data: { type: "welcome" } };
  const fine = emailJob(campaign);
  // Raw messages without the job-type header, as a producer other than jobpool's sends them.
  await produce(config, [
    { key: campaign, value: JSON.stringify(future) },
    { key: campaign, value: JSON.stringify(broken) },
    fine,
  ]);
  const handled: string[] = [];
  const worker = await runWorker({
    config,
    handlers: { "job.email.welcome": (job) => Promise.resolve(void handled.push(job.id)) },
  });
  try {
    const letters = await readDeadLetters(config, 2);
    const [late, bad] = [0, 1].map((offset) =>
      letters.find((l) => header(l, DEAD_LETTER_HEADERS.originalOffset) === String(offset))!
    );
    assert.equal(header(late!, DEAD_LETTER_HEADERS.errorClass), "JobDecodeError");
    assert.match(
      header(late!, DEAD_LETTER_HEADERS.errorMessage) ?? "",
      /timestamp.*MAX_CLOCK_SKEW/,
    );
    assert.equal(header(late!, "job-type"), "job.email.welcome", "type taken from the envelope");
    assert.equal(header(late!, DEAD_LETTER_HEADERS.attempts), "0");
    const message = header(bad!, DEAD_LETTER_HEADERS.errorMessage) ?? "";
    for (const field of ["account_id", "data.campaign_id", "data.user_id", "data.priority"]) {
      assert.ok(message.includes(`"${field}"`), `${field} is not named in: ${message}`);
    }
    await waitUntil(async () => (await committedOffsets(config)).get(0) === 3, "the commit");
    assert.deepEqual(handled, [fine.id]);
  } finally {
    await worker.stop();
  }
});
