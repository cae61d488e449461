/**
 * An in-process mail catcher for tests: a real SMTP server (npm `smtp-server`)
 * on a free port of 127.0.0.1 that offers STARTTLS, optionally requires TLS
 * and a login, parses every message it accepts with `mailparser` (or only
 * its headers, for drills that send thousands), and can be told to refuse
 * the next messages, or every message until told otherwise (an outage), with
 * a chosen 4xx or 5xx reply.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { SMTPServer, type SMTPServerSession } from "smtp-server";
import { type AddressObject, type HeaderLines, simpleParser } from "mailparser";

/** A message the catcher accepted, parsed. */
export interface CapturedMail {
  /** Address of the `From` header (empty when missing). */
  from: string;
  /** Addresses of the `To` headers. */
  to: string[];
  /** Addresses of the `Cc` headers. */
  cc: string[];
  /** The SMTP envelope: `MAIL FROM` and every accepted `RCPT TO` (Bcc included). */
  envelope: { from: string; to: string[] };
  subject: string;
  /** The plain text body (empty when the message has none). */
  text: string;
  /** The HTML body, or undefined when the message has none. */
  html: string | undefined;
  /** The `Message-ID` header, angle brackets included (empty when missing). */
  messageId: string;
  /**
   * Header values by lowercase name, unfolded and as sent (encoded words are
   * not decoded); a repeated header's values are joined with `", "`.
   */
  headers: Map<string, string>;
  /** The message exactly as received (after dot-unstuffing). */
  raw: string;
  /** True when the message came over a TLS connection (after STARTTLS). */
  secure: boolean;
  /** The user that logged in, or undefined without authentication. */
  user: string | undefined;
  /** The id of the SMTP connection (session) that carried it. */
  connection: string;
}

/** A running mail catcher. */
export interface SmtpCatcher {
  readonly host: "127.0.0.1";
  readonly port: number;
  /** `smtp://user:pass@127.0.0.1:port`, or `smtp://127.0.0.1:port` without auth. */
  readonly url: string;
  /** Every message accepted so far, oldest first. */
  readonly messages: CapturedMail[];
  /**
   * Resolves with the accepted messages once there are at least `count` of
   * them; rejects after `timeoutMs` (default 5000).
   */
  waitForMessages(count: number, timeoutMs?: number): Promise<CapturedMail[]>;
  /**
   * Makes the next `times` (default 1) messages fail with reply `code`
   * (400-599) and `message` at the end of DATA, after the client sent the
   * body. A rejected message is not captured.
   */
  rejectNext(code: number, message: string, times?: number): void;
  /**
   * Refuses every message with reply `code` (400-599) and `message` at the
   * end of DATA until {@linkcode SmtpCatcher.acceptAll}: a deferring (4xx)
   * or refusing (5xx) server.
   */
  rejectAll(code: number, message: string): void;
  /** Accepts messages again after {@linkcode SmtpCatcher.rejectAll}. */
  acceptAll(): void;
  /** Every message refused so far, with its reply code and headers. */
  readonly rejected: RejectedMail[];
  /** Stops listening and drops open connections. Safe to call twice. */
  stop(): Promise<void>;
}

/** A message the catcher refused. */
export interface RejectedMail {
  /** The reply code it got. */
  code: number;
  /** Its header values by lowercase name. */
  headers: Map<string, string>;
}

/** Options for {@linkcode startSmtp}. */
export interface StartSmtpOptions {
  /** Implicit TLS (SMTPS) is not offered; clients upgrade with STARTTLS. */
  secure?: false;
  /** Refuse `MAIL FROM` (530) and `AUTH` (538) before STARTTLS. */
  requireTLS?: boolean;
  /** Require this login (PLAIN or LOGIN); without it, no AUTH is offered. */
  auth?: { user: string; pass: string };
  /**
   * `full` parses each message with mailparser; `headers` reads its header
   * block only (subject, text and html stay empty): for drills that send
   * thousands of messages. @default "full"
   */
  parse?: "full" | "headers";
}

const HOST = "127.0.0.1";
const DEFAULT_WAIT_MS = 5_000;
const CLOSE_TIMEOUT_MS = 1_000;

/** An SMTP reply to send instead of accepting a message. */
interface Rejection {
  code: number;
  message: string;
}

/** A pending {@linkcode SmtpCatcher.waitForMessages} call. */
interface Waiter {
  count: number;
  resolve(messages: CapturedMail[]): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Starts a mail catcher on a free port of 127.0.0.1. STARTTLS uses a fresh
 * self-signed certificate for `localhost`/`127.0.0.1`, so clients need
 * `tls: { rejectUnauthorized: false }`.
 */
export async function startSmtp(options: StartSmtpOptions = {}): Promise<SmtpCatcher> {
  const requireTLS = options.requireTLS ?? false;
  const auth = options.auth;
  const messages: CapturedMail[] = [];
  const rejections: Rejection[] = [];
  const rejected: RejectedMail[] = [];
  let rejectEvery: Rejection | undefined;
  const parse = options.parse ?? "full";
  const waiters = new Set<Waiter>();
  const { key, cert } = await selfSignedCertificate("localhost");

  const notify = () => {
    for (const waiter of waiters) {
      if (messages.length < waiter.count) continue;
      waiters.delete(waiter);
      clearTimeout(waiter.timer);
      waiter.resolve([...messages]);
    }
  };

  const server = new SMTPServer({
    secure: false,
    key,
    cert,
    logger: false,
    disableReverseLookup: true,
    closeTimeout: CLOSE_TIMEOUT_MS,
    authOptional: !auth,
    authMethods: ["PLAIN", "LOGIN"],
    allowInsecureAuth: !requireTLS,
    disabledCommands: auth ? [] : ["AUTH"],
    onAuth(login, _session, callback) {
      if (auth && login.username === auth.user && login.password === auth.pass) {
        callback(null, { user: login.username });
      } else {
        callback(smtpError(535, "Authentication failed: wrong username or password"));
      }
    },
    onMailFrom(_address, session, callback) {
      if (requireTLS && !session.secure) {
        callback(smtpError(530, "Must issue a STARTTLS command first"));
      } else {
        callback();
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      let failed = false;
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", (error: Error) => {
        failed = true;
        callback(error);
      });
      stream.on("end", () => {
        if (failed) return;
        const raw = Buffer.concat(chunks);
        const rejection = rejectEvery ?? rejections.shift();
        if (rejection) {
          rejected.push({ code: rejection.code, headers: headerBlock(raw) });
          callback(smtpError(rejection.code, rejection.message));
          return;
        }
        (parse === "full" ? capture(raw, session) : captureHeaders(raw, session)).then((mail) => {
          messages.push(mail);
          notify();
          callback();
        }, (error: unknown) => {
          callback(smtpError(451, `Cannot parse the message: ${errorText(error)}`));
        });
      });
    },
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HOST, () => {
      server.off("error", reject);
      const address = server.server.address();
      if (address && typeof address === "object") resolve(address.port);
      else reject(new Error("The SMTP catcher started but reports no TCP port"));
    });
  });
  // Connection-level errors (a client hanging up mid-TLS) must not crash the test run.
  server.on("error", () => {});

  const credentials = auth
    ? `${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.pass)}@`
    : "";
  let stopped: Promise<void> | undefined;
  return {
    host: HOST,
    port,
    url: `smtp://${credentials}${HOST}:${port}`,
    messages,
    waitForMessages(count: number, timeoutMs = DEFAULT_WAIT_MS): Promise<CapturedMail[]> {
      if (messages.length >= count) return Promise.resolve([...messages]);
      return new Promise((resolve, reject) => {
        const waiter: Waiter = {
          count,
          resolve,
          reject,
          timer: setTimeout(() => {
            waiters.delete(waiter);
            reject(
              new Error(
                `Expected ${count} message(s) within ${timeoutMs} ms but the SMTP catcher got ${messages.length}: check that the code under test sends to ${HOST}:${port}`,
              ),
            );
          }, timeoutMs),
        };
        waiters.add(waiter);
      });
    },
    rejectNext(code: number, message: string, times = 1): void {
      if (!Number.isInteger(code) || code < 400 || code > 599) {
        throw new RangeError(`rejectNext needs an SMTP reply code from 400 to 599, got ${code}`);
      }
      if (!Number.isInteger(times) || times < 1) {
        throw new RangeError(`rejectNext needs a positive whole number of times, got ${times}`);
      }
      for (let i = 0; i < times; i++) rejections.push({ code, message });
    },
    rejectAll(code: number, message: string): void {
      if (!Number.isInteger(code) || code < 400 || code > 599) {
        throw new RangeError(`rejectAll needs an SMTP reply code from 400 to 599, got ${code}`);
      }
      rejectEvery = { code, message };
    },
    acceptAll(): void {
      rejectEvery = undefined;
    },
    rejected,
    stop(): Promise<void> {
      stopped ??= new Promise<void>((resolve) => {
        for (const waiter of waiters) {
          clearTimeout(waiter.timer);
          waiter.reject(new Error("The SMTP catcher stopped before the messages arrived"));
        }
        waiters.clear();
        server.close(() => resolve());
      });
      return stopped;
    },
  };
}

/** An Error carrying the SMTP reply code that smtp-server sends back. */
function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

/** Parses an accepted message into a {@linkcode CapturedMail}. */
async function capture(raw: Buffer, session: SMTPServerSession): Promise<CapturedMail> {
  const parsed = await simpleParser(raw);
  const envelope = session.envelope;
  return {
    from: addresses(parsed.from)[0] ?? "",
    to: addresses(parsed.to),
    cc: addresses(parsed.cc),
    envelope: {
      from: envelope.mailFrom ? envelope.mailFrom.address : "",
      to: envelope.rcptTo.map((recipient) => recipient.address),
    },
    subject: parsed.subject ?? "",
    text: parsed.text ?? "",
    html: parsed.html || undefined,
    messageId: parsed.messageId ?? "",
    headers: headerMap(parsed.headerLines),
    raw: raw.toString("utf8"),
    secure: session.secure,
    user: typeof session.user === "string" ? session.user : undefined,
    connection: session.id,
  };
}

/** A message's headers only (fast): what drills need of thousands of messages. */
function captureHeaders(raw: Buffer, session: SMTPServerSession): Promise<CapturedMail> {
  const headers = headerBlock(raw);
  const envelope = session.envelope;
  return Promise.resolve({
    from: headers.get("from") ?? "",
    to: (headers.get("to") ?? "").split(",").map((address) => address.trim()).filter(Boolean),
    cc: [],
    envelope: {
      from: envelope.mailFrom ? envelope.mailFrom.address : "",
      to: envelope.rcptTo.map((recipient) => recipient.address),
    },
    subject: headers.get("subject") ?? "",
    text: "",
    html: undefined,
    messageId: headers.get("message-id") ?? "",
    headers,
    raw: "",
    secure: session.secure,
    user: typeof session.user === "string" ? session.user : undefined,
    connection: session.id,
  });
}

/** Header values by lowercase name, read from the raw message's header block. */
function headerBlock(raw: Buffer): Map<string, string> {
  const text = raw.toString("latin1");
  const end = text.search(/\r?\n\r?\n/);
  const block = (end < 0 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, " ");
  const map = new Map<string, string>();
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const previous = map.get(key);
    map.set(key, previous === undefined ? value : `${previous}, ${value}`);
  }
  return map;
}

/** The plain addresses of one or more parsed address headers (groups flattened). */
function addresses(header: AddressObject | AddressObject[] | undefined): string[] {
  if (!header) return [];
  const list: string[] = [];
  const visit = (entries: AddressObject["value"]) => {
    for (const entry of entries) {
      if (entry.address) list.push(entry.address);
      if (entry.group) visit(entry.group);
    }
  };
  for (const object of Array.isArray(header) ? header : [header]) visit(object.value);
  return list;
}

/** Header values by lowercase name, from the raw header lines. */
function headerMap(lines: HeaderLines): Map<string, string> {
  const map = new Map<string, string>();
  for (const { key, line } of lines) {
    const value = line.slice(line.indexOf(":") + 1).replace(/\r?\n[ \t]+/g, " ").trim();
    const previous = map.get(key);
    map.set(key, previous === undefined ? value : `${previous}, ${value}`);
  }
  return map;
}

/** A one-line description of a thrown value. */
function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// --- A minimal self-signed X.509 certificate (ECDSA P-256) from WebCrypto ---

/** Object identifiers used in the certificate. */
const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  subjectAltName: "2.5.29.17",
};

/**
 * A fresh key pair and a self-signed certificate for `commonName`, valid from
 * an hour ago for a year, with `commonName` and 127.0.0.1 as alternative names.
 */
async function selfSignedCertificate(commonName: string): Promise<{ key: string; cert: string }> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = (serial[0] ?? 0) & 0x7f | 0x01;
  const algorithm = der(0x30, derOid(OID.ecdsaWithSha256));
  const name = der(0x30, der(0x31, der(0x30, derOid(OID.commonName), derUtf8(commonName))));
  const now = Date.now();
  const validity = der(0x30, derTime(now - 3_600_000), derTime(now + 365 * 86_400_000));
  const altNames = der(
    0x30,
    der(0x82, new TextEncoder().encode(commonName)),
    der(0x87, Uint8Array.of(127, 0, 0, 1)),
  );
  const extensions = der(
    0xa3,
    der(0x30, der(0x30, derOid(OID.subjectAltName), der(0x04, altNames))),
  );
  const tbs = der(
    0x30,
    der(0xa0, der(0x02, Uint8Array.of(2))),
    der(0x02, serial),
    algorithm,
    name,
    validity,
    name,
    spki,
    extensions,
  );
  const raw = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, tbs),
  );
  const signature = der(0x30, derUint(raw.subarray(0, 32)), derUint(raw.subarray(32)));
  const certificate = der(0x30, tbs, algorithm, der(0x03, Uint8Array.of(0), signature));
  return { key: pem("PRIVATE KEY", pkcs8), cert: pem("CERTIFICATE", certificate) };
}

/** One DER element: tag, definite length, then the concatenated contents. */
function der(tag: number, ...contents: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const length = contents.reduce((sum, part) => sum + part.length, 0);
  const lengthBytes: number[] = [];
  if (length < 0x80) {
    lengthBytes.push(length);
  } else {
    for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) {
      lengthBytes.unshift(rest % 256);
    }
    lengthBytes.unshift(0x80 | lengthBytes.length);
  }
  const out = new Uint8Array(1 + lengthBytes.length + length);
  out[0] = tag;
  out.set(lengthBytes, 1);
  let offset = 1 + lengthBytes.length;
  for (const part of contents) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A DER OBJECT IDENTIFIER from its dotted form. */
function derOid(dotted: string): Uint8Array {
  const [first = 0, second = 0, ...rest] = dotted.split(".").map(Number);
  const bytes: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const groups = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) {
      groups.unshift(value & 0x7f | 0x80);
    }
    bytes.push(...groups);
  }
  return der(0x06, Uint8Array.from(bytes));
}

/** A DER UTF8String. */
function derUtf8(text: string): Uint8Array {
  return der(0x0c, new TextEncoder().encode(text));
}

/** A DER UTCTime (`YYMMDDHHMMSSZ`). */
function derTime(epochMs: number): Uint8Array {
  const iso = new Date(epochMs).toISOString();
  const digits = iso.slice(2, 19).replace(/[-T:]/g, "");
  return der(0x17, new TextEncoder().encode(`${digits}Z`));
}

/** A DER INTEGER from unsigned big-endian bytes. */
function derUint(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  const negative = ((trimmed[0] ?? 0) & 0x80) !== 0;
  return der(0x02, negative ? Uint8Array.of(0, ...trimmed) : trimmed);
}

/** PEM armour around DER bytes. */
function pem(label: string, bytes: Uint8Array): string {
  const base64 = btoa(String.fromCharCode(...bytes));
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
