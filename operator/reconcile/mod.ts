/**
 * Reconciling JobWorkerPools: the level-based reconciler, status and
 * condition computation, consumer-group conflicts, and `startOperator`, which
 * wires them to the runtime.
 *
 * @module
 */

export {
  availableFromDeployment,
  computeStatus,
  type ConditionState,
  type DeploymentStatusView,
  fromForeignReady,
  REASONS,
  setCondition,
  type StatusInput,
} from "./conditions.ts";
export { consumerGroupWinner, sameGroupPools } from "./consumer_group.ts";
export {
  type OperatorOptions,
  ownerKey,
  type RunningOperator,
  startOperator,
  topicOwnerKey,
} from "./operator.ts";
export { TOPIC_FINALIZER } from "./finalizer.ts";
export { PoolReconciler, type PoolReconcilerOptions } from "./pool_reconciler.ts";
export { type Synthesize, type SynthesizedObjects } from "./synthesis.ts";
