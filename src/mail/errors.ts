/**
 * What went wrong when sending mail, classified once so that handlers can
 * decide between retrying and dead-lettering.
 *
 * @module
 */

/** Why a message was not sent. */
export type MailFailureKind =
  /** The server refused the message or a recipient for good (SMTP 5xx). */
  | "rejected"
  /** The server deferred the message (SMTP 4xx): try again later. */
  | "deferred"
  /** No answer, a dropped connection, a TLS or login problem: try again later. */
  | "unavailable";

/** Sending one message failed; {@linkcode MailSendError.permanent} says whether to retry. */
export class MailSendError extends Error {
  /** How the send failed. */
  readonly kind: MailFailureKind;
  /** The SMTP reply code, when the server answered. */
  readonly responseCode: number | undefined;
  /**
   * True when the message surely did not go out: the server answered with a
   * refusal, or no connection was made. False when it may have gone out (a
   * connection lost or timed out while the message was on its way), so that
   * sending it again could deliver a second copy.
   */
  readonly notSent: boolean;
  /** True when sending the same message again cannot succeed. */
  get permanent(): boolean {
    return this.kind === "rejected";
  }
  /**
   * `details.notSent` defaults to true for a server's refusal (`rejected`,
   * `deferred`) and to false for `unavailable`.
   */
  constructor(
    message: string,
    details: { kind: MailFailureKind; responseCode?: number; notSent?: boolean },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "MailSendError";
    this.kind = details.kind;
    this.responseCode = details.responseCode;
    this.notSent = details.notSent ?? details.kind !== "unavailable";
  }
}

/** The fields of a nodemailer error this module looks at. */
interface NodemailerFailure {
  message?: unknown;
  code?: unknown;
  responseCode?: unknown;
  response?: unknown;
  command?: unknown;
  /** The system error code nodemailer replaced with its own, e.g. `ECONNREFUSED`. */
  originalCode?: unknown;
}

/** Error codes of nodemailer that mean the server never took the message for a reason outside it. */
const UNAVAILABLE_CODES = new Set([
  "ECONNECTION",
  "ETIMEDOUT",
  "ESOCKET",
  "EDNS",
  "ETLS",
  "EAUTH",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "EPROTOCOL",
]);

/** Failures that happen before any connection to the server carries a message. */
const NO_CONNECTION_CODES = new Set([
  "EDNS",
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/**
 * Turns whatever a transport threw into a {@linkcode MailSendError}: a 5xx
 * reply to the envelope or the message is `rejected` (permanent); a 4xx reply
 * is `deferred`; connection, TLS and login failures are `unavailable`
 * (a bad password is fixed by an operator, not by dropping mail). Only a
 * reply, a refused connection, a failed name lookup or a failed login count as
 * {@linkcode MailSendError.notSent}.
 */
export function classifySmtpError(error: unknown): MailSendError {
  if (error instanceof MailSendError) return error;
  const failure = (typeof error === "object" && error !== null ? error : {}) as NodemailerFailure;
  const text = typeof failure.message === "string" ? failure.message : String(error);
  const code = typeof failure.code === "string" ? failure.code : undefined;
  const responseCode = typeof failure.responseCode === "number" ? failure.responseCode : undefined;
  let kind: MailFailureKind;
  if (code !== undefined && UNAVAILABLE_CODES.has(code)) kind = "unavailable";
  else if (responseCode !== undefined && responseCode >= 500) kind = "rejected";
  else if (responseCode !== undefined && responseCode >= 400) kind = "deferred";
  else kind = "unavailable";
  const originalCode = typeof failure.originalCode === "string" ? failure.originalCode : undefined;
  const notSent = kind !== "unavailable" || code === "EAUTH" ||
    [code, originalCode].some((c) => c !== undefined && NO_CONNECTION_CODES.has(c));
  const reply = responseCode === undefined ? "" : ` (SMTP ${responseCode})`;
  return new MailSendError(`Cannot send email${reply}: ${text}`, {
    kind,
    notSent,
    ...(responseCode === undefined ? {} : { responseCode }),
  }, { cause: error });
}
