/**
 * The jobpool operator: JobWorkerPool API (`api/`), synthesis (`synth/`),
 * reconciliation (`reconcile/`) and the controller runtime (`runtime/`).
 *
 * @module
 */

export { loadOperatorConfig, type OperatorConfig } from "./config.ts";
export {
  type OperatorOptions,
  type RunningOperator,
  startOperator,
  TOPIC_FINALIZER,
} from "./reconcile/mod.ts";
