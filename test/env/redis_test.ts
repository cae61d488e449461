import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { portOpen } from "./process.ts";
import { startRedis } from "./redis.ts";

Deno.test("startRedis runs a real server on loopback and removes it on stop", async () => {
  const logDir = await Deno.makeTempDir({ prefix: "jobpool-redis-test-" });
  const service = await startRedis({ logDir });
  try {
    assert.match(service.version, /^\d+\.\d+\.\d+$/);
    assert.equal(service.url, `redis://127.0.0.1:${service.port}`);
    const client = new Redis(service.url, { maxRetriesPerRequest: 1 });
    try {
      await client.set("jobpool:test", "ok");
      assert.equal(await client.get("jobpool:test"), "ok");
      assert.equal((await client.config("GET", "save") as string[])[1], "");
    } finally {
      client.disconnect();
    }
  } finally {
    await service.stop();
    await service.stop();
    await Deno.remove(logDir, { recursive: true });
  }
  assert.equal(await portOpen(service.port), false, "the server is gone");
});
