/**
 * Sending mail: the {@linkcode Mailer} handlers depend on, and its SMTP
 * implementation over nodemailer with pooled connections, a rate limit and
 * STARTTLS.
 *
 * @module
 */

// @ts-types="@types/nodemailer"
import nodemailer from "nodemailer";
import type { SmtpConfig } from "../config/mod.ts";
import { classifySmtpError, MailSendError } from "./errors.ts";

/** One message to one recipient. */
export interface MailMessage {
  /** The recipient's address. */
  to: string;
  /** The subject line. */
  subject: string;
  /** The plain-text body. */
  text: string;
  /** The HTML body. */
  html: string;
  /** Extra headers, e.g. `X-Jobpool-Event`. */
  headers?: Record<string, string>;
  /** The `Message-ID` header, angle brackets included; generated when absent. */
  messageId?: string;
}

/** What the server said when it took a message. */
export interface SentMail {
  /** The `Message-ID` header, angle brackets included. */
  messageId: string;
  /** The server's last reply, e.g. `250 OK: queued as …`. */
  response: string;
}

/** Options of {@linkcode Mailer.send}. */
export interface SendOptions {
  /** Stops waiting (the message may still go out). */
  signal?: AbortSignal;
}

/** Sends mail. Handlers take one of these, so tests can pass any implementation. */
export interface Mailer {
  /**
   * Sends `message`.
   *
   * @throws {MailSendError} saying whether a retry can help.
   */
  send(message: MailMessage, options?: SendOptions): Promise<SentMail>;
  /** Checks that the server answers and accepts the login. */
  verify(): Promise<void>;
  /** Closes pooled connections. */
  close(): void;
}

/** Options of {@linkcode createSmtpMailer}. */
export interface SmtpMailerOptions {
  /** The server, pool, rate limit and TLS settings. */
  smtp: SmtpConfig;
  /** The `From` header of every message. */
  from: string;
  /** Extra TLS options, e.g. a CA for a private server. */
  tls?: { ca?: string };
}

/**
 * A {@linkcode Mailer} over SMTP: a pool of `smtp.poolSize` connections,
 * at most `smtp.rateLimitPerSecond` messages a second (0 for no limit),
 * implicit TLS when `smtp.secure`, else STARTTLS as `smtp.starttls` says.
 */
export function createSmtpMailer(options: SmtpMailerOptions): Mailer {
  const { smtp } = options;
  const transport = nodemailer.createTransport({
    pool: true,
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: smtp.starttls === "required",
    ignoreTLS: smtp.starttls === "off",
    maxConnections: smtp.poolSize,
    maxMessages: smtp.maxMessagesPerConnection,
    ...(smtp.rateLimitPerSecond > 0
      ? { rateDelta: 1_000, rateLimit: smtp.rateLimitPerSecond }
      : {}),
    connectionTimeout: smtp.timeoutMs,
    greetingTimeout: smtp.timeoutMs,
    socketTimeout: smtp.timeoutMs,
    tls: {
      rejectUnauthorized: smtp.tlsRejectUnauthorized,
      ...(options.tls?.ca ? { ca: options.tls.ca } : {}),
    },
    ...(smtp.auth ? { auth: { user: smtp.auth.user, pass: smtp.auth.pass } } : {}),
  });
  // A pooled transport emits errors of idle connections; sends report their own.
  transport.on("error", () => {});
  return {
    async send(message, sendOptions = {}) {
      const { signal } = sendOptions;
      signal?.throwIfAborted();
      const sending = transport.sendMail({
        from: options.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
        ...(message.headers ? { headers: message.headers } : {}),
        ...(message.messageId ? { messageId: message.messageId } : {}),
      });
      let info: { messageId: string; response: string; rejected?: unknown[] };
      try {
        info = await abortable(sending, signal);
      } catch (error) {
        if (signal?.aborted && error === signal.reason) throw error;
        throw classifySmtpError(error);
      }
      if (Array.isArray(info.rejected) && info.rejected.length > 0) {
        throw new MailSendError(`Cannot send email: the server refused ${message.to}`, {
          kind: "rejected",
        });
      }
      return { messageId: info.messageId, response: info.response };
    },
    async verify() {
      try {
        await transport.verify();
      } catch (error) {
        throw classifySmtpError(error);
      }
    },
    close() {
      transport.close();
    },
  };
}

/** `promise`, or a rejection with the signal's reason when it aborts first. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
