/**
 * Signals to shutdown: the first SIGTERM or SIGINT asks for a graceful stop,
 * a second one forces the process out at once (uncommitted work is
 * redelivered, so nothing is lost either way).
 *
 * @module
 */

import { logger } from "../observability/logging.ts";

/** Options of {@linkcode installShutdownSignals}. */
export interface ShutdownSignalsOptions {
  /** Called on the first signal; should stop gracefully. */
  onGraceful: (signal: Deno.Signal) => void;
  /** Called on the second signal. @default exits with 128 + the signal number */
  onForce?: (signal: Deno.Signal) => void;
  /** The signals listened to. @default ["SIGTERM", "SIGINT"] */
  signals?: readonly Deno.Signal[];
  /**
   * Signals this soon after the first count as the same one: Ctrl+C reaches
   * both `deno task` (which forwards it) and the worker. @default 1000
   */
  duplicateWindowMs?: number;
}

const SIGNAL_NUMBERS: Partial<Record<Deno.Signal, number>> = { SIGINT: 2, SIGTERM: 15 };

const log = logger("worker", "shutdown");

/** Listens for shutdown signals; returns a function that stops listening. */
export function installShutdownSignals(options: ShutdownSignalsOptions): () => void {
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];
  const force = options.onForce ?? ((signal) => Deno.exit(128 + (SIGNAL_NUMBERS[signal] ?? 1)));
  const duplicateWindowMs = options.duplicateWindowMs ?? 1_000;
  let firstAt: number | undefined;
  const listeners = signals.map((signal) => {
    const listener = () => {
      const now = Date.now();
      if (firstAt !== undefined && now - firstAt < duplicateWindowMs) return;
      if (firstAt === undefined) {
        firstAt = now;
        log.info("Received {signal}: stopping gracefully (send it again to force)", { signal });
        options.onGraceful(signal);
      } else {
        log.warn("Received {signal} again: exiting now", { signal });
        force(signal);
      }
    };
    Deno.addSignalListener(signal, listener);
    return { signal, listener };
  });
  return () => {
    for (const { signal, listener } of listeners) Deno.removeSignalListener(signal, listener);
  };
}
