import assert from "node:assert/strict";
import { type BreakerChange, DependencyBreakers } from "./breakers.ts";

const TYPE = "job.email.welcome";
const down = { dependency: "smtp", error: new Error("421 try later") };

function breakers(changes: BreakerChange[] = []) {
  return new DependencyBreakers({
    failureThreshold: 3,
    probeIntervalMinMs: 10,
    probeIntervalMaxMs: 40,
    onChange: (change) => changes.push(change),
  });
}

Deno.test("a breaker opens after the threshold of outage failures in a row", () => {
  const changes: BreakerChange[] = [];
  const b = breakers(changes);
  assert.equal(b.failed(TYPE, down, undefined), "isolated");
  assert.equal(b.failed(TYPE, down, undefined), "isolated");
  assert.equal(b.failed(TYPE, down, undefined), "outage", "the third opens it");
  assert.deepEqual(b.unavailable(), ["smtp"]);
  assert.deepEqual(changes.map((c) => c.state), ["open"]);
  assert.deepEqual(b.dependenciesOf(TYPE), ["smtp"], "learned from the failures");
  b.close();
});

Deno.test("a success between failures keeps the breaker closed", () => {
  const b = breakers();
  b.failed(TYPE, down, undefined);
  b.failed(TYPE, down, undefined);
  b.succeeded(TYPE, undefined);
  assert.equal(b.failed(TYPE, down, undefined), "isolated");
  assert.deepEqual(b.unavailable(), []);
  b.close();
});

Deno.test("jobs are held while open; one probes; its success releases all", async () => {
  const changes: BreakerChange[] = [];
  const b = breakers(changes);
  for (let i = 0; i < 3; i++) b.failed(TYPE, down, undefined);
  assert.equal(b.admit("job.position.recalculate", new AbortController().signal), undefined);
  const held = [0, 1, 2].map(() => b.admit(TYPE, new AbortController().signal)!);
  assert.ok(held.every((h) => h instanceof Promise));
  const first = await Promise.race(held.map((h, i) => h.then((a) => ({ i, a }))));
  assert.equal(first.a.probe, "smtp", "one job is let through as the probe");
  b.succeeded(TYPE, first.a);
  const all = await Promise.all(held);
  assert.equal(all.filter((a) => a.probe).length, 1, "only one probe");
  assert.deepEqual(changes.map((c) => c.state), ["open", "closed"]);
  assert.equal(b.admit(TYPE, new AbortController().signal), undefined, "closed again");
  b.close();
});

Deno.test("a failed probe opens the breaker again, with a longer pause", async () => {
  const b = breakers();
  for (let i = 0; i < 3; i++) b.failed(TYPE, down, undefined);
  const probe = await b.admit(TYPE, new AbortController().signal)!;
  assert.equal(b.failed(TYPE, down, probe), "outage");
  assert.deepEqual(b.unavailable(), ["smtp"]);
  const started = performance.now();
  const next = await b.admit(TYPE, new AbortController().signal)!;
  assert.equal(next.probe, "smtp");
  assert.ok(performance.now() - started >= 15, "the pause doubled (10 → 20 ms)");
  b.succeeded(TYPE, next);
  b.close();
});

Deno.test("a held job that leaves passes the probe on; an aborted wait rejects", async () => {
  const b = breakers();
  for (let i = 0; i < 3; i++) b.failed(TYPE, down, undefined);
  const leaving = new AbortController();
  const gone = b.admit(TYPE, leaving.signal)!;
  leaving.abort(new Error("worker stopping"));
  await assert.rejects(gone, /worker stopping/);
  const staying = await b.admit(TYPE, new AbortController().signal)!;
  assert.equal(staying.probe, "smtp");
  b.released(staying);
  const again = await b.admit(TYPE, new AbortController().signal)!;
  assert.equal(again.probe, "smtp", "a probe released without result is given to another job");
  b.succeeded(TYPE, again);
  b.close();
});

Deno.test("a job's own failure (no dependency named) counts as the dependency answering", () => {
  const b = breakers();
  for (let i = 0; i < 3; i++) b.failed(TYPE, down, undefined);
  assert.deepEqual(b.unavailable(), ["smtp"]);
  assert.equal(
    b.failed(TYPE, { dependency: undefined, error: new Error("bad") }, undefined),
    "isolated",
  );
  assert.deepEqual(b.unavailable(), [], "the server answered: it is up");
  b.close();
});
