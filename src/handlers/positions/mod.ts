/**
 * Position recalculation: the set-based ranking and the job handler around it.
 *
 * @module
 */

export {
  recalculatePositions,
  type RecalculatePositionsOptions,
  type RecalculationResult,
} from "./recalculate.ts";
export {
  handlePositionRecalculation,
  RECALCULATION_LOCK_SPACE,
  type RecalculationOutcome,
} from "./recalculate_job.ts";
