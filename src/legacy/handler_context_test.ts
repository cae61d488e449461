import assert from "node:assert/strict";
import type { HandlerContext, PartialJobHandlers } from "../handlers/mod.ts";
import { logger } from "../observability/logging.ts";
import { withOwnContext } from "./handler_context.ts";

/** A context like the runner's: `log` and `signal` are getters on the class. */
class LazyContext {
  readonly attempt = 2;
  get log() {
    return logger("test", "legacy");
  }
  get signal() {
    return AbortSignal.abort();
  }
}

Deno.test("a wrapped handler's context survives object spread", async () => {
  let copied: HandlerContext | undefined;
  const handlers = withOwnContext(
    {
      "job.reward.deliver": (_job, context) => {
        copied = { ...context };
        return Promise.resolve();
      },
    } satisfies PartialJobHandlers,
  );
  const handler = handlers["job.reward.deliver"]!;
  await handler({} as Parameters<typeof handler>[0], new LazyContext() as HandlerContext);
  assert.equal(typeof copied?.log.info, "function");
  assert.equal(copied?.signal.aborted, true);
  assert.equal(copied?.attempt, 2);
});
