/**
 * Mail: the {@linkcode Mailer} abstraction handlers send through, its SMTP
 * implementation, failure classification and HTML escaping.
 *
 * @module
 */

export {
  createSmtpMailer,
  type Mailer,
  type MailMessage,
  type SendOptions,
  type SentMail,
  type SmtpMailerOptions,
} from "./mailer.ts";
export { classifySmtpError, type MailFailureKind, MailSendError } from "./errors.ts";
export { escapeHtml, headerText } from "./html.ts";
