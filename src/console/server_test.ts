import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { DeadLetter, DeadLetterPosition } from "../cli/dead_letters.ts";
import { formatPosition } from "../cli/dead_letters.ts";
import { loadAssets } from "./assets.ts";
import { ConsoleAuth } from "./auth.ts";
import type { ReplayRecord } from "./dead_letters/store.ts";
import { type ConsoleServices, createConsoleApp, SESSION_COOKIE } from "./server.ts";

const TOKEN = "a-token-long-enough";
/** A form post from the console's own page, as a browser sends it. */
const FORM = {
  "content-type": "application/x-www-form-urlencoded",
  origin: "http://localhost",
};

function letter(offset: string): DeadLetter {
  return {
    partition: 0,
    offset,
    timestamp: new Date("2026-11-28T09:00:00Z"),
    key: Buffer.from("campaign"),
    value: Buffer.from(JSON.stringify({ id: "x", type: "job.email.welcome" })),
    headers: {},
    original: { topic: "job-events", partition: 1, offset: "7" },
    error: { class: "PermanentJobError", message: "<script>alert(1)</script>" },
    job: { type: "job.email.welcome", id: "0f8fad5b-d9cb-469f-a165-70867728950e" },
  };
}

async function app(token?: string) {
  const replayed: string[] = [];
  const letters = [letter("0"), letter("1")];
  const services: ConsoleServices = {
    auth: new ConsoleAuth({ token }),
    overview: () => ({
      generatedAt: new Date().toISOString(),
      historySeconds: 0,
      liveSeconds: 60,
      refreshMs: 1000,
      topic: "job-events",
      types: [],
      timeline: [],
      workers: [],
      groups: [],
    }),
    deadLetters: {
      topic: "job-events.dlq",
      list: () => Promise.resolve(letters),
      find: (positions: readonly DeadLetterPosition[]) => {
        const wanted = new Set(positions.map(formatPosition));
        const found = letters.filter((l) => wanted.has(formatPosition(l)));
        const have = new Set(found.map(formatPosition));
        return Promise.resolve({ found, missing: [...wanted].filter((p) => !have.has(p)) });
      },
      replay: (chosen: readonly DeadLetter[]) => {
        replayed.push(...chosen.map(formatPosition));
        return Promise.resolve();
      },
      replayOf: (): ReplayRecord | undefined => undefined,
    },
    jobTopic: "job-events",
    lookUpJob: () => Promise.reject(new Error("not used")),
    assets: await loadAssets(),
  };
  return { app: createConsoleApp(services), replayed };
}

async function logIn(console: Awaited<ReturnType<typeof app>>["app"]) {
  const response = await console.request("/login", {
    method: "POST",
    headers: FORM,
    body: `token=${TOKEN}&next=/dead-letters`,
  });
  assert.equal(response.status, 303);
  const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  assert.match(
    response.headers.get("set-cookie") ?? "",
    /HttpOnly.*SameSite=Strict|SameSite=Strict.*HttpOnly/,
  );
  const page = await (await console.request("/dead-letters", { headers: { cookie } })).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? "";
  assert.ok(csrf);
  return { cookie, csrf };
}

Deno.test("a read-only console shows dead letters, escaped, and refuses every replay", async () => {
  const { app: console, replayed } = await app();
  const page = await (await console.request("/dead-letters")).text();
  assert.match(page, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.doesNotMatch(page, /<script>alert/);
  assert.match(page, /Read-only: set <code>CONSOLE_TOKEN<\/code>/);
  const refused = await console.request("/dead-letters/replay", {
    method: "POST",
    headers: FORM,
    body: "confirm=yes&position=0:0",
  });
  assert.equal(refused.status, 403);
  assert.match(await refused.text(), /read-only because CONSOLE_TOKEN is not set/);
  assert.deepEqual(replayed, []);
});

Deno.test("a replay needs a session and its CSRF token, or the bearer token", async () => {
  const { app: console, replayed } = await app(TOKEN);
  const post = (body: string, headers: Record<string, string> = {}) =>
    console.request("/dead-letters/replay", {
      method: "POST",
      headers: { ...FORM, ...headers },
      body,
    });
  assert.equal((await post("confirm=yes&position=0:0")).status, 401);
  const { cookie, csrf } = await logIn(console);
  assert.equal((await post("confirm=yes&position=0:0", { cookie })).status, 403, "no CSRF token");
  assert.equal(
    (await post(`confirm=yes&position=0:0&csrf=${csrf[0] === "x" ? "y" : "x"}${csrf.slice(1)}`, {
      cookie,
    })).status,
    403,
  );
  assert.equal(
    (await post(`confirm=yes&position=0:0&csrf=${csrf}`, {
      cookie,
      origin: "https://evil.example",
    }))
      .status,
    403,
    "a cross-site post",
  );
  assert.deepEqual(replayed, []);
  assert.equal((await post(`confirm=yes&position=0:0&csrf=${csrf}`, { cookie })).status, 200);
  assert.equal(
    (await post("confirm=yes&position=0:1", { authorization: `Bearer ${TOKEN}` })).status,
    200,
  );
  assert.deepEqual(replayed, ["0:0", "0:1"]);
});

Deno.test("bad input gets a 400 naming the field", async () => {
  const { app: console, replayed } = await app(TOKEN);
  const bearer = { ...FORM, authorization: `Bearer ${TOKEN}` };
  const cases: [string, RegExp][] = [
    ["position=0:0", /confirm: a replay must be confirmed/],
    [
      "confirm=yes&position=zero",
      /position: must be partition:offset such as 0:42, got &quot;zero&quot;/,
    ],
    ["confirm=yes&position=3:3", /position: no dead letter at 3:3/],
  ];
  for (const [body, message] of cases) {
    const response = await console.request("/dead-letters/replay", {
      method: "POST",
      headers: bearer,
      body,
    });
    assert.equal(response.status, 400, body);
    assert.match(await response.text(), message);
  }
  const filter = await console.request("/dead-letters?from=yesterday");
  assert.equal(filter.status, 400);
  assert.match(await filter.text(), /from: must be a date and time/);
  const job = await console.request("/jobs?id=42");
  assert.equal(job.status, 400);
  assert.match(await job.text(), /id: must be a job event id/);
  assert.deepEqual(replayed, []);
});

Deno.test("a wrong token does not log in, and next never leaves the console", async () => {
  const { app: console } = await app(TOKEN);
  const wrong = await console.request("/login", {
    method: "POST",
    headers: FORM,
    body: "token=nope",
  });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get("set-cookie"), null);
  const away = await console.request("/login", {
    method: "POST",
    headers: FORM,
    body: `token=${TOKEN}&next=//evil.example/`,
  });
  assert.equal(away.headers.get("location"), "/");
  assert.ok(away.headers.get("set-cookie")?.startsWith(`${SESSION_COOKIE}=`));
});

Deno.test("pages carry a strict content security policy and static files come from the console", async () => {
  const { app: console } = await app();
  const page = await console.request("/");
  assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
  const uplot = await console.request("/static/uPlot.iife.min.js");
  assert.equal(uplot.status, 200);
  assert.match(await uplot.text(), /uPlot/);
  const again = await console.request("/static/uPlot.iife.min.js", {
    headers: { "if-none-match": uplot.headers.get("etag") ?? "" },
  });
  assert.equal(again.status, 304);
});
