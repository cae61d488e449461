/**
 * Reading a BullMQ job as a job event. Two shapes are accepted:
 *
 * - **An envelope** (what jobpool's producer writes): `data` has `id`,
 *   `type`, `data` and `timestamp`; it is the event as it is.
 * - **A legacy job** (what the application wrote before jobpool): the job's
 *   name is the type (or maps to one through `BULLMQ_JOB_NAMES`), `data` is
 *   the payload plus `account_id` and `campaign_id`, the event id is derived
 *   from the queue and the BullMQ job id (the same job always gets the same
 *   id) and the timestamp is the job's creation time. An email payload
 *   without `type` or `priority` gets the kind its job type names and
 *   priority 1, as `enqueueEmailJob` gives.
 *
 * Either way the result is validated like any event: a job that is not a
 * valid event raises `JobDecodeError` naming the field.
 *
 * @module
 */

import { derivedUuid } from "../handlers/ledger.ts";
import {
  isJobType,
  JobDecodeError,
  type JobEvent,
  type JobType,
  validateJobEvent,
  type ValidateOptions,
} from "../jobs/mod.ts";

/** What the mapping reads of a BullMQ job. */
export interface LegacyJob {
  /** The BullMQ job id. */
  id?: string | undefined;
  /** The job's name. */
  name: string;
  /** The job's data. */
  data: unknown;
  /** When it was added, in ms since the epoch. */
  timestamp: number;
}

/** Where the job was read and how legacy names map to types. */
export interface LegacyMappingOptions {
  /** BullMQ's key prefix (`BULLMQ_PREFIX`). */
  prefix: string;
  /** The queue the job was read from. */
  queue: string;
  /** Legacy job names that are not job types (`BULLMQ_JOB_NAMES`). */
  jobNames: Readonly<Record<string, JobType>>;
}

/** Payload fields of job types whose payload has no `campaign_id`. */
const WITHOUT_CAMPAIGN: readonly JobType[] = ["job.reward.deliver"];

/**
 * The event a BullMQ job carries, not yet validated (the worker validates it
 * as it decodes it).
 *
 * @throws {JobDecodeError} when the job has neither shape: an unknown name
 * or data that is not an object.
 */
export async function legacyEnvelope(
  job: LegacyJob,
  options: LegacyMappingOptions,
): Promise<Record<string, unknown>> {
  const data = job.data;
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new JobDecodeError(
      `Invalid BullMQ job "${job.name}": its data is not a JSON object`,
      { field: "data", problem: "invalid_json" },
    );
  }
  const record = data as Record<string, unknown>;
  if (isEnvelope(record)) return record;
  const type = options.jobNames[job.name] ?? job.name;
  if (!isJobType(type)) {
    throw new JobDecodeError(
      `Invalid BullMQ job: its name "${job.name}" is no job type; map it to one with BULLMQ_JOB_NAMES`,
      { field: "type", problem: "unknown_type" },
    );
  }
  const { account_id, campaign_id, ...payload } = record;
  if (!WITHOUT_CAMPAIGN.includes(type)) payload.campaign_id = campaign_id;
  if (type.startsWith("job.email.")) {
    payload.type ??= type.slice("job.email.".length);
    payload.priority ??= 1;
  }
  return {
    id: await legacyEventId(job, options),
    type,
    account_id,
    campaign_id,
    data: payload,
    timestamp: new Date(job.timestamp).toISOString(),
  };
}

/**
 * The validated event of a BullMQ job.
 *
 * @throws {JobDecodeError} naming the field when it is not a valid event.
 */
export async function legacyJobEvent(
  job: LegacyJob,
  options: LegacyMappingOptions & ValidateOptions,
): Promise<JobEvent> {
  return validateJobEvent(await legacyEnvelope(job, options), options);
}

/** The event id of a legacy-shaped job: a UUID derived from `prefix:queue:jobId`. */
export function legacyEventId(
  job: Pick<LegacyJob, "id" | "name">,
  options: Pick<LegacyMappingOptions, "prefix" | "queue">,
): Promise<string> {
  if (job.id === undefined) {
    throw new JobDecodeError(`Invalid BullMQ job "${job.name}": it has no id`, {
      field: "id",
      problem: "invalid_field",
    });
  }
  return derivedUuid(`bullmq:${options.prefix}:${options.queue}:${job.id}`);
}

function isEnvelope(record: Record<string, unknown>): boolean {
  return "id" in record && "type" in record && "data" in record && "timestamp" in record;
}
