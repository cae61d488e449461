/**
 * Where each job type goes — Kafka, the legacy BullMQ queue, or both during a
 * cut-over — and which BullMQ queue, from `JOB_TRANSPORT*` and
 * `BULLMQ_QUEUE*`. Pure configuration: it loads neither client, so the
 * Kafka worker decides its routes without loading BullMQ and Redis.
 *
 * @module
 */

export { legacyQueues, queueFor, transportFor, usesBullmq, usesKafka } from "./routing.ts";
