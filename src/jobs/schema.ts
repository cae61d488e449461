/**
 * The job envelope and its payloads as one zod schema, from which the
 * TypeScript types are inferred. The envelope is a discriminated union on
 * `type`; each type fixes the shape of `data`.
 *
 * @module
 */

import { z } from "zod";
import { EMAIL_KINDS, type EmailKind, type JobType } from "./job_types.ts";

const uuid = z.uuid();

/** The payload of every `job.email.*` event. */
export const emailPayloadSchema = z.strictObject({
  type: z.enum(EMAIL_KINDS),
  campaign_id: uuid,
  user_id: uuid,
  priority: z.int().min(0).max(10),
});

/** The payload of `job.position.recalculate`. */
export const positionRecalcPayloadSchema = z.strictObject({
  campaign_id: uuid,
  points_per_referral: z.int().min(0),
});

/** The payload of `job.reward.deliver`. */
export const rewardDeliveryPayloadSchema = z.strictObject({
  user_reward_id: uuid,
});

const envelopeFields = {
  id: uuid,
  account_id: uuid,
  campaign_id: uuid,
  timestamp: z.iso.datetime({ offset: true }),
};

function emailEnvelope<K extends EmailKind>(kind: K) {
  return z.strictObject({
    ...envelopeFields,
    type: z.literal(`job.email.${kind}` as const),
    data: emailPayloadSchema.extend({ type: z.literal(kind) }),
  });
}

/** The whole job event: envelope plus the payload its type requires. */
export const jobEventSchema = z.discriminatedUnion("type", [
  emailEnvelope("verification"),
  emailEnvelope("welcome"),
  emailEnvelope("position_update"),
  emailEnvelope("reward_earned"),
  emailEnvelope("milestone"),
  z.strictObject({
    ...envelopeFields,
    type: z.literal("job.position.recalculate"),
    data: positionRecalcPayloadSchema,
  }),
  z.strictObject({
    ...envelopeFields,
    type: z.literal("job.reward.deliver"),
    data: rewardDeliveryPayloadSchema,
  }),
]);

/** A decoded, valid job event. */
export type JobEvent = z.infer<typeof jobEventSchema>;

/** The job event of one type, e.g. `JobEventOf<"job.reward.deliver">`. */
export type JobEventOf<T extends JobType> = Extract<JobEvent, { type: T }>;

/** The payload of an email job. */
export type EmailPayload = z.infer<typeof emailPayloadSchema>;

/** The payload of a position recalculation job. */
export type PositionRecalcPayload = z.infer<typeof positionRecalcPayloadSchema>;

/** The payload of a reward delivery job. */
export type RewardDeliveryPayload = z.infer<typeof rewardDeliveryPayloadSchema>;
