import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { fileURLToPath } from "node:url";
import { createJobEvent } from "../jobs/mod.ts";
import type { ConsumedMessage } from "./consumer.ts";
import { type AnyJobHandler, HandlerAttempt } from "./deadlines.ts";

const id = crypto.randomUUID();
const event = createJobEvent({
  type: "job.reward.deliver",
  accountId: id,
  campaignId: id,
  data: { user_reward_id: id },
});

const message: ConsumedMessage = {
  topic: "jobs",
  partition: 0,
  offset: "1",
  key: Buffer.from("k"),
  value: Buffer.from("{}"),
  headers: {},
  timestamp: "0",
};

/** Runs one attempt of `handler`; resolves with its error (undefined on success). */
function attempt(handler: AnyJobHandler, timeoutMs: number): Promise<unknown> {
  const running = new HandlerAttempt({
    timeoutMs,
    message,
    event,
    kill: new AbortController().signal,
    attempt: 1,
    startedAt: performance.now(),
  });
  return new Promise((resolve) => running.start(handler, () => resolve(undefined), resolve));
}

Deno.test("an attempt that starts after its queue emptied times out at its own deadline", async () => {
  const timeoutMs = 300;
  // The first attempt arms the queue's timer for its deadline and leaves at once:
  // the timer lingers (unref'd) and fires early for the next attempt.
  assert.equal(await attempt(() => Promise.resolve(), timeoutMs), undefined);
  await new Promise((resolve) => setTimeout(resolve, 150));
  const startedAt = performance.now();
  const never = new Promise<void>(() => {});
  const error = await attempt(() => never, timeoutMs);
  const tookMs = performance.now() - startedAt;
  assert.equal((error as Error).name, "JobTimeoutError");
  assert.ok(tookMs >= timeoutMs - 5, `aborted after ${tookMs} ms, before its ${timeoutMs} ms`);
  assert.ok(tookMs < timeoutMs + 2_000, `aborted only after ${tookMs} ms`);
});

Deno.test("a deadline timer left with no attempt to time does not keep the process alive", async () => {
  const module = fileURLToPath(new URL("./deadlines.ts", import.meta.url));
  const jobs = fileURLToPath(new URL("../jobs/mod.ts", import.meta.url));
  // One attempt with a 10-minute deadline that ends at once: the process must
  // then end by itself, long before the deadline's timer would fire.
  const script = `
    import { HandlerAttempt } from ${JSON.stringify(module)};
    import { createJobEvent } from ${JSON.stringify(jobs)};
    const id = crypto.randomUUID();
    const event = createJobEvent({ type: "job.reward.deliver", accountId: id, campaignId: id,
      data: { user_reward_id: id } });
    const attempt = new HandlerAttempt({ timeoutMs: 600000, event, kill: new AbortController().signal,
      message: { topic: "t", partition: 0, offset: "0", key: null, value: null, headers: {}, timestamp: "0" },
      attempt: 1, startedAt: performance.now() });
    attempt.start(() => Promise.resolve(), () => console.log("done"), (e) => console.log("failed", e));
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const output = await child.output();
  clearTimeout(timer);
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.signal, null, "the process still ran after 20 s: an idle timer held it");
  assert.equal(output.code, 0, stderr);
  assert.equal(new TextDecoder().decode(output.stdout).trim(), "done");
});
