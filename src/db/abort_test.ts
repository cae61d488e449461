import assert from "node:assert/strict";
import { abortableQuery } from "./abort.ts";

/** A query stand-in that settles when cancelled, like the `postgres` client's. */
function fakeQuery() {
  let reject!: (error: Error) => void;
  let cancelled = 0;
  const promise = new Promise<string>((_resolve, rej) => reject = rej);
  return {
    query: Object.assign(promise, {
      cancel() {
        cancelled++;
        reject(new Error("canceling statement due to user request"));
      },
    }),
    cancelled: () => cancelled,
  };
}

Deno.test("an abort cancels the running query", async () => {
  const controller = new AbortController();
  const { query, cancelled } = fakeQuery();
  const running = abortableQuery(query, controller.signal);
  controller.abort();
  await assert.rejects(running, /canceling statement/);
  assert.equal(cancelled(), 1);
});

Deno.test("without a signal the query is awaited as it is", async () => {
  const query = Object.assign(Promise.resolve("rows"), { cancel() {} });
  assert.equal(await abortableQuery(query, undefined), "rows");
  const aborted = AbortSignal.abort(new Error("stopped"));
  await assert.rejects(abortableQuery(query, aborted), /stopped/);
});
