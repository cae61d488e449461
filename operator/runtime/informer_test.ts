import assert from "node:assert/strict";
import { FakeClock } from "./clock.ts";
import { Informer, type InformerEventType, slimObject } from "./informer.ts";
import {
  KubeApiError,
  type KubeClient,
  type ListOptions,
  type ObjectList,
  type WatchEvent,
  type WatchOptions,
} from "./kube_client.ts";
import { RESOURCES } from "./resources.ts";
import type { KubeObject } from "./object.ts";

function obj(name: string, resourceVersion: string): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "ns", resourceVersion, managedFields: [{ manager: "x" }] },
  };
}

type WatchScript = (options: WatchOptions) => AsyncIterable<WatchEvent>;

/** A client whose list answers and watch streams are scripted per call. */
class ScriptedClient implements Partial<KubeClient> {
  lists: ObjectList[] = [];
  watches: WatchScript[] = [];
  listCalls = 0;
  watchVersions: string[] = [];

  list(_type: unknown, _options?: ListOptions): Promise<ObjectList> {
    this.listCalls++;
    const next = this.lists.shift();
    return next ? Promise.resolve(next) : Promise.reject(new Error("no more lists"));
  }

  watch(_type: unknown, options: WatchOptions): AsyncIterable<WatchEvent> {
    this.watchVersions.push(options.resourceVersion);
    const script = this.watches.shift() ?? hang;
    return script(options);
  }
}

async function* hang(options: WatchOptions): AsyncIterable<WatchEvent> {
  await new Promise((_, reject) => {
    options.signal?.addEventListener("abort", () => reject(options.signal?.reason), { once: true });
  });
  yield* [];
}

function events(list: WatchEvent[], end?: Error): WatchScript {
  return async function* () {
    for (const event of list) yield event;
    if (end) throw end;
  };
}

async function settle(clock: FakeClock, ms = 0): Promise<void> {
  await clock.advance(ms);
}

Deno.test("Informer lists, watches, and lists again after 410 Gone", async () => {
  const clock = new FakeClock();
  const client = new ScriptedClient();
  client.lists.push({ items: [obj("a", "1")], resourceVersion: "10" });
  client.watches.push(
    events([{ type: "ADDED", object: obj("b", "11") }], new KubeApiError("watch", { code: 410 })),
  );
  client.lists.push({ items: [obj("b", "12"), obj("c", "13")], resourceVersion: "20" });
  const seen: Array<[InformerEventType, string]> = [];
  const informer = new Informer({
    client: client as unknown as KubeClient,
    type: RESOURCES.deployments,
    clock,
    onEvent: (type, object) => seen.push([type, object.metadata.name ?? ""]),
  });
  const stop = new AbortController();
  const running = informer.run(stop.signal);
  await settle(clock);
  assert.equal(informer.hasSynced, true);
  assert.deepEqual(client.watchVersions, ["10", "20"]);
  assert.equal(client.listCalls, 2);
  assert.deepEqual(seen, [
    ["added", "a"],
    ["added", "b"],
    ["updated", "b"],
    ["added", "c"],
    ["deleted", "a"],
  ]);
  assert.deepEqual(informer.list().map((o) => o.metadata.name).sort(), ["b", "c"]);
  assert.equal(informer.get("ns/b")?.metadata.managedFields, undefined, "slimmed");
  stop.abort();
  await running;
});

Deno.test("Informer restarts a silent watch and backs off after errors", async () => {
  const clock = new FakeClock();
  const client = new ScriptedClient();
  client.lists.push({ items: [], resourceVersion: "1" });
  client.watches.push(hang);
  client.lists.push({ items: [], resourceVersion: "2" });
  let recovered = 0;
  const informer = new Informer({
    client: client as unknown as KubeClient,
    type: RESOURCES.deployments,
    clock,
    onRecovered: () => recovered++,
    watchdogMs: 1_000,
    baseBackoffMs: 500,
    onEvent: () => {},
  });
  const stop = new AbortController();
  const running = informer.run(stop.signal);
  await settle(clock);
  assert.equal(client.listCalls, 1);
  await settle(clock, 999);
  assert.equal(client.listCalls, 1);
  await settle(clock, 1);
  assert.equal(client.listCalls, 2, "the silent watch was restarted with a fresh list");
  // The third list fails (nothing scripted): the informer waits 500 ms, then 1000 ms.
  await settle(clock, 1_000);
  assert.equal(client.listCalls, 3);
  await settle(clock, 499);
  assert.equal(client.listCalls, 3);
  await settle(clock, 1);
  assert.equal(client.listCalls, 4);
  await settle(clock, 1_000);
  assert.equal(client.listCalls, 5);
  assert.match(String(informer.lastError), /no more lists/);
  assert.equal(recovered, 0);
  client.lists.push({ items: [], resourceVersion: "3" });
  await settle(clock, 4_000);
  assert.equal(recovered, 1, "a list after failures reports the recovery");
  stop.abort();
  await running;
});

Deno.test("slimObject drops managedFields and the last-applied annotation", () => {
  const object = obj("a", "1");
  object.metadata.annotations = {
    "kubectl.kubernetes.io/last-applied-configuration": "{}",
    keep: "yes",
  };
  const slim = slimObject(object);
  assert.equal(slim.metadata.managedFields, undefined);
  assert.deepEqual(slim.metadata.annotations, { keep: "yes" });
  assert.ok(object.metadata.managedFields, "the input is not changed");
});

Deno.test("Informer resumes a watch the server ended from the last version seen", async () => {
  const clock = new FakeClock();
  const client = new ScriptedClient();
  client.lists.push({ items: [], resourceVersion: "10" });
  client.watches.push(events([{ type: "ADDED", object: obj("b", "11") }]));
  client.watches.push(events([{ type: "BOOKMARK", object: obj("", "15") }]));
  const informer = new Informer({
    client: client as unknown as KubeClient,
    type: RESOURCES.deployments,
    clock,
    onEvent: () => {},
  });
  const stop = new AbortController();
  const running = informer.run(stop.signal);
  await settle(clock);
  assert.deepEqual(client.watchVersions, ["10", "11", "15"]);
  assert.equal(client.listCalls, 1, "no re-list for a normal end");
  assert.deepEqual(informer.list().map((o) => o.metadata.name), ["b"]);
  stop.abort();
  await running;
});
