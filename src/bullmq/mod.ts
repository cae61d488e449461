/**
 * BullMQ and Redis: connections, the routing of job types between Kafka and
 * BullMQ queues, and enqueueing job events on those queues.
 *
 * @module
 */

export { createRedisClient, redisOptions } from "./connection.ts";
export { legacyQueues, queueFor, transportFor, usesBullmq, usesKafka } from "./routing.ts";
export { LegacyQueues } from "./queues.ts";
