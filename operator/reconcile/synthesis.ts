/**
 * Turning a pool into its generated objects: the synthesizer's shape, and a
 * spec it refuses turned into `Ready=False` (InvalidSpec).
 *
 * @module
 */

import type { JobWorkerPool } from "../api/mod.ts";
import { type ConditionState, REASONS } from "./conditions.ts";

/** The objects generated for a pool (the shape `synthesizePool` returns). */
export interface SynthesizedObjects {
  /** The worker Deployment. */
  deployment: object;
  /** The KEDA ScaledObject; none with `scaling.mode: none`. */
  scaledObject?: object | undefined;
  /** The KEDA TriggerAuthentication, with SASL or a TLS CA. */
  triggerAuthentication?: object | undefined;
  /** The Strimzi KafkaTopic, with `topicProvisioning.mode: strimzi`. */
  kafkaTopic?: object | undefined;
}

/** A pure function from a pool to its generated objects (`synthesizePool`). */
export type Synthesize = (pool: JobWorkerPool) => SynthesizedObjects;

/** The generated objects, or `Ready=False` when the spec cannot be turned into them. */
export function synthesizeOrBlock(
  synthesize: Synthesize,
  pool: JobWorkerPool,
): SynthesizedObjects | ConditionState {
  try {
    return synthesize(pool);
  } catch (error) {
    if (!(error instanceof TypeError || error instanceof RangeError)) throw error;
    return {
      status: "False",
      reason: REASONS.invalidSpec,
      message: `The spec cannot be turned into a worker Deployment: ${error.message}`,
    };
  }
}
