/**
 * Email jobs: templates per kind, the signed verification link, milestones,
 * and idempotent delivery over the {@linkcode Mailer}.
 *
 * @module
 */

export { type EmailJobType, handleEmailJob } from "./send_email_job.ts";
export { deliverEmail, type DeliverEmailOptions, type EmailOutcome } from "./deliver_email.ts";
export { type EmailTemplateData, type RenderedEmail, renderEmail } from "./templates.ts";
export { nextMilestone, reachedMilestone } from "./milestone.ts";
export {
  createVerificationToken,
  InvalidVerificationTokenError,
  type VerificationClaims,
  verificationLink,
  type VerifyTokenOptions,
  verifyVerificationToken,
} from "./verification_link.ts";
