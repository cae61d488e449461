import assert from "node:assert/strict";
import { installShutdownSignals } from "./shutdown.ts";

Deno.test({
  name: "installShutdownSignals stops gracefully first, then forces",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const calls: string[] = [];
    const uninstall = installShutdownSignals({
      signals: ["SIGUSR2"],
      duplicateWindowMs: 50,
      onGraceful: (signal) => calls.push(`graceful:${signal}`),
      onForce: (signal) => calls.push(`force:${signal}`),
    });
    try {
      Deno.kill(Deno.pid, "SIGUSR2");
      await waitFor(() => calls.length === 1);
      // A copy of the same signal (deno task forwards what the worker also got) is ignored.
      Deno.kill(Deno.pid, "SIGUSR2");
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(calls, ["graceful:SIGUSR2"]);
      Deno.kill(Deno.pid, "SIGUSR2");
      await waitFor(() => calls.length === 2);
      assert.deepEqual(calls, ["graceful:SIGUSR2", "force:SIGUSR2"]);
    } finally {
      uninstall();
    }
  },
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
