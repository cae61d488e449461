/**
 * Enqueueing jobs: the producer and topic creation.
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
