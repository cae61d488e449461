/**
 * Enqueueing jobs: the producer (to Kafka, or routed between Kafka and a
 * legacy BullMQ queue), and topic creation.
 *
 * @module
 */

export {
  createJobProducer,
  type EmailJobInput,
  type JobProducer,
  type JobProducerOptions,
  type PositionRecalcJobInput,
  type RewardDeliveryJobInput,
} from "./producer.ts";
export { ensureTopic, type EnsureTopicOptions } from "./topic.ts";
export { EnqueueError, routedSender, type SendEvents, splitByTransport } from "./routing.ts";
