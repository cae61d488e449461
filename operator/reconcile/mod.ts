/**
 * Reconciling JobWorkerPools: the watches that say which pool a change
 * concerns, the level-based reconciler (read → desired → apply → status), and
 * status and condition computation. `../manager.ts` wires them to the runtime.
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
export { TOPIC_FINALIZER } from "./finalizer.ts";
export { PoolReconciler, type PoolReconcilerOptions } from "./pool_reconciler.ts";
export { type Desired, type Synthesize, type SynthesizedObjects } from "./desired.ts";
export { ownerKey, PoolWatches, type PoolWatchesOptions, topicOwnerKey } from "./watches.ts";
