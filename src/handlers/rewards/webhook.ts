/**
 * Signed webhook POSTs: the body is JSON, `X-Jobpool-Signature` is
 * `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` with the
 * timestamp (Unix seconds) in `X-Jobpool-Timestamp`, and
 * `X-Jobpool-Delivery` carries an id the receiver can deduplicate on.
 *
 * @module
 */

import { delay } from "../../async/mod.ts";
import { PermanentJobError } from "../../jobs/mod.ts";

/** Header names of signed webhooks. */
export const WEBHOOK_HEADERS = {
  signature: "X-Jobpool-Signature",
  timestamp: "X-Jobpool-Timestamp",
  delivery: "X-Jobpool-Delivery",
} as const;

const encoder = new TextEncoder();

/** `sha256=<hex>`: the HMAC-SHA256 of `"<timestamp>.<body>"` with `secret`. */
export async function signWebhook(
  body: string,
  options: { secret: string; timestamp: number },
): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(options.secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${options.timestamp}.${body}`));
  return `sha256=${[...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** A webhook that did not answer 2xx after every attempt; worth retrying later. */
export class WebhookDeliveryError extends Error {
  /** The last HTTP status, when there was a response. */
  readonly status: number | undefined;
  /** An error with the last HTTP `status`, when there was a response. */
  constructor(message: string, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "WebhookDeliveryError";
    this.status = status;
  }
}

/** Options of {@linkcode postSignedWebhook}. */
export interface PostWebhookOptions {
  /** The receiver, `http://` or `https://`. */
  url: string;
  /** Serialized as JSON and signed. */
  body: unknown;
  /** Sent as `X-Jobpool-Delivery`. */
  deliveryId: string;
  /** The HMAC-SHA256 key (`WEBHOOK_SIGNING_SECRET`). */
  secret: string;
  /** Per attempt. */
  timeoutMs: number;
  /** Attempts in this call, with 250 ms, 500 ms, … between them. */
  attempts: number;
  /** The job's signal: aborts the request and the waits between attempts. */
  signal: AbortSignal;
  /** The HTTP client. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/**
 * POSTs a signed JSON body; resolves with the 2xx status. Network errors,
 * timeouts, 408, 429 and 5xx are retried up to `attempts` times.
 *
 * @throws {PermanentJobError} for any other 4xx: the receiver refuses it.
 * @throws {WebhookDeliveryError} when every attempt failed.
 */
export async function postSignedWebhook(options: PostWebhookOptions): Promise<number> {
  const doFetch = options.fetch ?? fetch;
  const body = JSON.stringify(options.body);
  let last: WebhookDeliveryError | undefined;
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    options.signal.throwIfAborted();
    if (attempt > 1) await delay(250 * 2 ** (attempt - 2), { signal: options.signal });
    const timestamp = Math.floor(Date.now() / 1000);
    try {
      const response = await doFetch(options.url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "User-Agent": "jobpool-webhooks/1",
          [WEBHOOK_HEADERS.delivery]: options.deliveryId,
          [WEBHOOK_HEADERS.timestamp]: String(timestamp),
          [WEBHOOK_HEADERS.signature]: await signWebhook(body, {
            secret: options.secret,
            timestamp,
          }),
        },
        body,
        redirect: "manual",
        signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]),
      });
      await response.body?.cancel();
      if (response.ok) return response.status;
      const retryable = response.status === 408 || response.status === 429 ||
        response.status >= 500;
      if (!retryable) {
        throw new PermanentJobError(
          `Webhook ${options.url} refused the delivery with HTTP ${response.status}: fix the receiver or the reward's webhook URL`,
        );
      }
      last = new WebhookDeliveryError(
        `Webhook ${options.url} answered HTTP ${response.status}`,
        response.status,
      );
    } catch (error) {
      if (error instanceof PermanentJobError || options.signal.aborted) throw error;
      last = new WebhookDeliveryError(
        `Webhook ${options.url} failed: ${error instanceof Error ? error.message : error}`,
        undefined,
        { cause: error },
      );
    }
  }
  throw new WebhookDeliveryError(
    `${last?.message ?? `Webhook ${options.url} failed`} (after ${options.attempts} attempts)`,
    last?.status,
    { cause: last },
  );
}
