/**
 * Building job events, and the Kafka message that carries one.
 *
 * @module
 */

import { validateJobEvent } from "./decode.ts";
import type { JobType } from "./job_types.ts";
import type { JobEvent, JobEventOf } from "./schema.ts";

/** What it takes to build a job event; id and timestamp are generated when absent. */
export interface NewJobEvent<T extends JobType> {
  /** The job type. */
  type: T;
  /** The account the campaign belongs to. */
  accountId: string;
  /** The campaign: the message key, so one campaign's jobs keep their order. */
  campaignId: string;
  /** The payload of `type`. */
  data: JobEventOf<T>["data"];
  /** The event id (a UUID). @default crypto.randomUUID() */
  id?: string;
  /** When the job was enqueued. @default new Date() */
  timestamp?: Date;
}

/**
 * Builds and validates a job event.
 *
 * @throws {JobDecodeError} naming the field when the input is not valid.
 */
export function createJobEvent<T extends JobType>(input: NewJobEvent<T>): JobEventOf<T> {
  return validateJobEvent({
    id: input.id ?? crypto.randomUUID(),
    type: input.type,
    account_id: input.accountId,
    campaign_id: input.campaignId,
    data: input.data,
    timestamp: (input.timestamp ?? new Date()).toISOString(),
  }) as JobEventOf<T>;
}

/** Kafka header names jobpool sets on every job message. */
export const JOB_HEADERS = {
  type: "job-type",
  id: "job-id",
  contentType: "content-type",
} as const;

/** A job event as a Kafka message: keyed by campaign, typed headers, JSON value. */
export interface JobMessage {
  /** The message key: the campaign id. */
  key: string;
  /** The job event as JSON. */
  value: string;
  /** `job-type`, `job-id` and `content-type`. */
  headers: Record<string, string>;
}

/**
 * The Kafka message for `event`. The key is the campaign id, so one
 * campaign's jobs land on one partition in order.
 */
export function toJobMessage(event: JobEvent): JobMessage {
  return {
    key: event.campaign_id,
    value: JSON.stringify(event),
    headers: {
      [JOB_HEADERS.type]: event.type,
      [JOB_HEADERS.id]: event.id,
      [JOB_HEADERS.contentType]: "application/json",
    },
  };
}
