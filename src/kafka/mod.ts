/**
 * jobpool's kafkajs clients: the one place a client is built from
 * `KafkaConfig`, the idempotent producer every component publishes with, and
 * the changes to kafkajs they carry: the fix of its idle request-queue loop,
 * a faster record decoder, re-joining as the same member after a restart, and
 * brief fetch waits while a consumer has work in progress.
 *
 * @module
 */

export { createIdempotentProducer, createKafkaClient, type KafkaClientOptions } from "./client.ts";
export {
  FIXED_KAFKAJS_VERSION,
  fixKafkaRequestQueue,
  kafkajsRequestQueue,
  type RequestQueueInternals,
} from "./request_queue_fix.ts";
export {
  type ConsumerGroupInternals,
  kafkajsConsumerGroup,
  MEMBER_REJOIN_KAFKAJS_VERSION,
  rejoinAsSameMember,
} from "./member_rejoin.ts";
export {
  BUSY_FETCH_WAIT_KAFKAJS_VERSION,
  BUSY_FETCH_WAIT_MS,
  type FetchWaitInternals,
  type OffsetInternals,
  shortenFetchWaitWhileBusy,
} from "./busy_fetch_wait.ts";
export {
  createRecordDecoder,
  type KafkajsDecoder,
  kafkajsRecordDecoder,
  RECORD_DECODER_KAFKAJS_VERSION,
  type RecordBatchContext,
  type RecordDecoder,
  useFastRecordDecoder,
} from "./record_decoder.ts";
