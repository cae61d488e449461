/**
 * Job events: the types, the envelope schema, decoding, and the errors a
 * job can end in.
 *
 * @module
 */

export {
  EMAIL_KINDS,
  emailJobType,
  type EmailKind,
  expandJobTypePatterns,
  isJobType,
  JOB_TYPES,
  type JobType,
  matchesJobType,
} from "./job_types.ts";
export {
  type EmailPayload,
  emailPayloadSchema,
  type JobEvent,
  type JobEventOf,
  jobEventSchema,
  type PositionRecalcPayload,
  positionRecalcPayloadSchema,
  type RewardDeliveryPayload,
  rewardDeliveryPayloadSchema,
} from "./schema.ts";
export {
  decodeJobEvent,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  prepareJobDecoder,
  validateJobEvent,
  type ValidateOptions,
} from "./decode.ts";
export {
  createJobEvent,
  JOB_HEADERS,
  type JobMessage,
  type NewJobEvent,
  toJobMessage,
} from "./envelope.ts";
export {
  DependencyUnavailableError,
  JobDecodeError,
  type JobDecodeIssue,
  type JobDecodeProblem,
  LeaseHeldError,
  PermanentJobError,
  RetryLaterError,
} from "./errors.ts";
