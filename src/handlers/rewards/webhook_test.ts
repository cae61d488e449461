import assert from "node:assert/strict";
import { PermanentJobError } from "../../jobs/mod.ts";
import {
  postSignedWebhook,
  signWebhook,
  WEBHOOK_HEADERS,
  WebhookDeliveryError,
} from "./webhook.ts";

Deno.test("signWebhook is HMAC-SHA256 of timestamp.body", async () => {
  // Known answer: HMAC-SHA256 with key "key" of "1.{}".
  assert.equal(
    await signWebhook("{}", { secret: "key", timestamp: 1 }),
    "sha256=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224",
  );
  const a = await signWebhook("{}", { secret: "key", timestamp: 1 });
  assert.match(a, /^sha256=[0-9a-f]{64}$/);
  assert.notEqual(a, await signWebhook("{}", { secret: "key", timestamp: 2 }));
  assert.notEqual(a, await signWebhook("{}", { secret: "other", timestamp: 1 }));
});

function fakeFetch(statuses: number[], seen: Request[]): typeof fetch {
  return (input, init) => {
    const request = new Request(input, init);
    seen.push(request);
    const status = statuses.shift() ?? 200;
    if (status === 0) return Promise.reject(new TypeError("connection refused"));
    return Promise.resolve(new Response(null, { status }));
  };
}

const base = {
  url: "https://hooks.example.com/x",
  body: { hello: "world" },
  deliveryId: "d-1",
  secret: "s3cret-s3cret-s3cret",
  timeoutMs: 1_000,
  attempts: 3,
  signal: new AbortController().signal,
};

Deno.test("network errors and 5xx are retried up to the attempts", async () => {
  const seen: Request[] = [];
  assert.equal(await postSignedWebhook({ ...base, fetch: fakeFetch([0, 503, 204], seen) }), 204);
  assert.equal(seen.length, 3);
  const request = seen[2]!;
  assert.equal(request.method, "POST");
  assert.equal(request.headers.get(WEBHOOK_HEADERS.delivery), "d-1");
  const body = await request.text();
  assert.equal(body, '{"hello":"world"}');
  const timestamp = Number(request.headers.get(WEBHOOK_HEADERS.timestamp));
  assert.equal(
    request.headers.get(WEBHOOK_HEADERS.signature),
    await signWebhook(body, { secret: base.secret, timestamp }),
  );

  await assert.rejects(
    postSignedWebhook({ ...base, fetch: fakeFetch([500, 500, 500], []) }),
    (error: unknown) => error instanceof WebhookDeliveryError && error.status === 500,
  );
});

Deno.test("a 4xx other than 408 and 429 is permanent", async () => {
  const seen: Request[] = [];
  await assert.rejects(
    postSignedWebhook({ ...base, fetch: fakeFetch([404], seen) }),
    PermanentJobError,
  );
  assert.equal(seen.length, 1);
  assert.equal(await postSignedWebhook({ ...base, fetch: fakeFetch([429, 408, 200], []) }), 200);
});

Deno.test("a receiver that does not answer in time counts as a failed attempt", async () => {
  let calls = 0;
  const hanging: typeof fetch = (_input, init) => {
    calls++;
    return new Promise((_resolve, reject) => {
      init?.signal?.addEventListener("abort", () => reject(init.signal?.reason), { once: true });
    });
  };
  await assert.rejects(
    postSignedWebhook({ ...base, timeoutMs: 20, attempts: 2, fetch: hanging }),
    (error: unknown) =>
      error instanceof WebhookDeliveryError && /after 2 attempts/.test(error.message),
  );
  assert.equal(calls, 2);
});
