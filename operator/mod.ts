/**
 * The jobpool operator: JobWorkerPool API (`api/`), synthesis (`synth/`),
 * reconciliation (`reconcile/`), the lag loop (`lag/`), the controller runtime
 * (`runtime/`), and their wiring (`manager.ts`).
 *
 * @module
 */

export { loadOperatorConfig, type OperatorConfig } from "./config.ts";
export { type OperatorOptions, type RunningOperator, startOperator } from "./manager.ts";
export { TOPIC_FINALIZER } from "./reconcile/mod.ts";
