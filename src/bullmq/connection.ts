/**
 * The one place jobpool reaches Redis: connection options for BullMQ's
 * queues and workers, and a plain ioredis client for the bridge's own keys
 * and the legacy worker's queue counts.
 *
 * BullMQ 6 treats ioredis as an optional peer and loads it with `require`
 * when it gets connection options. Deno links a peer only when the
 * application imports it too, which this module does.
 *
 * @module
 */

import type { ConnectionOptions } from "bullmq";
import { Redis } from "ioredis";
import type { LegacyConfig } from "../config/mod.ts";

/** BullMQ's connection options for `BULLMQ_REDIS_URL` (ioredis parses credentials, db and `rediss://`). */
export function redisOptions(config: Pick<LegacyConfig, "redisUrl">): ConnectionOptions {
  return { url: config.redisUrl };
}

/**
 * A Redis client of `BULLMQ_REDIS_URL` that fails commands fast while Redis
 * is down (instead of queueing them forever) and reconnects by itself.
 */
export function createRedisClient(config: Pick<LegacyConfig, "redisUrl">): Redis {
  const client = new Redis(config.redisUrl, { maxRetriesPerRequest: 2, connectTimeout: 5_000 });
  // Failed commands reject where they were called; the event would only repeat them.
  client.on("error", () => {});
  return client;
}
