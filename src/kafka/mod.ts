/**
 * jobpool's kafkajs clients: the one place a client is built from
 * `KafkaConfig`, the idempotent producer every component publishes with, and
 * the fix of kafkajs's idle request-queue loop they carry.
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
  createRecordDecoder,
  type KafkajsDecoder,
  kafkajsRecordDecoder,
  RECORD_DECODER_KAFKAJS_VERSION,
  type RecordBatchContext,
  type RecordDecoder,
  useFastRecordDecoder,
} from "./record_decoder.ts";
