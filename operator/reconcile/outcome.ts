/**
 * What the steps of a reconcile return, and what the status is written from.
 *
 * @module
 */

import type { DeploymentStatusView } from "./conditions.ts";
import type { ConditionState } from "./conditions.ts";

/** What one step came to: its condition, and a problem a person must fix, if any. */
export interface StepOutcome {
  /** The condition the step reports (`TopicReady`, `ScalerReady`). */
  condition: ConditionState;
  /** A problem a person must fix (a rejected object, missing RBAC); `Ready` shows it. */
  blocker?: ConditionState | undefined;
}

/** The applied worker Deployment: its name and status as the API server returned them. */
export interface DeploymentView {
  /** Its name. */
  name: string;
  /** Its status (unchecked JSON). */
  status: DeploymentStatusView | undefined;
}

/** What applying a pool came to: the status is written from it. */
export interface PoolOutcome {
  /** The first problem a person must fix (workers before topic), if any. */
  blocker: ConditionState | undefined;
  /** `TopicReady`. */
  topic: ConditionState;
  /** `ScalerReady`. */
  scaler: ConditionState;
  /** The applied worker Deployment; none when it was not applied. */
  deployment: DeploymentView | undefined;
}
