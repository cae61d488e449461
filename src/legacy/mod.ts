/**
 * The legacy Redis-queue path while a team moves to Kafka: the BullMQ worker
 * that runs jobpool's handlers (`deno task worker:legacy`), how a BullMQ job
 * reads as a job event, and the bridge that moves waiting jobs onto Kafka
 * (`deno task bridge`).
 *
 * @module
 */

export { type LegacyWorkerOptions, type RunningLegacyWorker, startLegacyWorker } from "./worker.ts";
export {
  legacyEnvelope,
  legacyEventId,
  type LegacyJob,
  legacyJobEvent,
  type LegacyMappingOptions,
} from "./mapping.ts";
export {
  BRIDGED_FROM_HEADER,
  type BridgeOptions,
  type BridgeProgress,
  type BridgeRun,
  type InvalidJob,
  runBridge,
} from "./bridge.ts";
export { journalKey } from "./bridge_journal.ts";
