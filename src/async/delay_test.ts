import assert from "node:assert/strict";
import { delay } from "./delay.ts";

Deno.test("delay resolves after the wait", async () => {
  assert.equal(await delay(1), undefined);
  assert.equal(await delay(1, { signal: new AbortController().signal }), undefined);
});

Deno.test("delay rejects with the signal's reason when it aborts during the wait", async () => {
  const controller = new AbortController();
  const reason = new Error("stop waiting");
  const waiting = delay(60_000, { signal: controller.signal });
  controller.abort(reason);
  await assert.rejects(waiting, (error) => error === reason);
});

Deno.test("delay rejects at once for a signal aborted before the wait", async () => {
  const reason = new Error("aborted already");
  await assert.rejects(delay(60_000, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
});

Deno.test("delay leaves no listener on the signal once it resolved", async () => {
  const controller = new AbortController();
  let listeners = 0;
  const signal = controller.signal;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (...args: Parameters<typeof add>) => {
    listeners++;
    add(...args);
  };
  signal.removeEventListener = (...args: Parameters<typeof remove>) => {
    listeners--;
    remove(...args);
  };
  await delay(1, { signal });
  assert.equal(listeners, 0);
});
