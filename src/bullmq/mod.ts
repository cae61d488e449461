/**
 * BullMQ and Redis: connections, and enqueueing job events on BullMQ queues.
 * Which job types go here is `src/transport/`'s; importing this module loads
 * BullMQ and ioredis, so code that may run without them imports it
 * dynamically (see `src/producer/producer.ts`).
 *
 * @module
 */

export { createRedisClient, redisOptions } from "./connection.ts";
export { LegacyQueues } from "./queues.ts";
