/**
 * `ScalerReady` from what KEDA writes into a ScaledObject's status: its
 * `Ready` condition (False with `TriggerError` when the Kafka scaler cannot
 * read the lag and no fallback is set), `Fallback` (True while KEDA holds the
 * fallback replica count because the scaler keeps failing), `Paused`, and the
 * per-metric `health` failure counts.
 *
 * @module
 */

import { type ConditionState, REASONS } from "./conditions.ts";

/** One condition as KEDA writes it (`metav1.Condition`-like, every field optional). */
export interface KedaCondition {
  /** `Ready`, `Active`, `Fallback`, `Paused`, `HPAActive`. */
  type?: string;
  /** `True`, `False` or `Unknown`. */
  status?: string;
  /** e.g. `ScaledObjectReady`, `TriggerError`, `FallbackExists`. */
  reason?: string;
  /** KEDA's explanation. */
  message?: string;
}

/** The parts of `ScaledObject.status` the operator reads. */
export interface ScaledObjectStatusView {
  /** KEDA's conditions. */
  conditions?: KedaCondition[];
  /** Per metric: `Happy` or `Failing`, with consecutive failures (kept only with a fallback). */
  health?: Record<string, { numberOfFailures?: number; status?: string }>;
}

const HINT = "check that the topic exists and that spec.kafka's brokers and credentials are " +
  "right; `kubectl describe scaledobject` shows KEDA's events";

/** `ScalerReady` for the ScaledObject `name` whose status is `status`. */
export function scalerFromKeda(
  name: string,
  status: ScaledObjectStatusView | undefined,
): ConditionState {
  const find = (type: string) => status?.conditions?.find((c) => c.type === type);
  const ready = find("Ready");
  const what = `ScaledObject ${name}`;
  if (!ready || (ready.status !== "True" && ready.status !== "False" && !ready.reason)) {
    return {
      status: "Unknown",
      reason: REASONS.waitingForKeda,
      message: `${what} is applied; waiting for KEDA to report on it`,
    };
  }
  const failures = failingMetrics(status);
  if (find("Fallback")?.status === "True") {
    return {
      status: "False",
      reason: REASONS.fallbackActive,
      message: `${what}: KEDA cannot read the lag${failures} and holds the fallback replica ` +
        `count (spec.scaling.fallback) instead of following it: ${HINT}`,
    };
  }
  const paused = find("Paused");
  if (paused?.status === "True") {
    return {
      status: "False",
      reason: REASONS.scalerPaused,
      message: `${what} is paused (${paused.message ?? "autoscaling.keda.sh/paused"}): the ` +
        "replicas do not follow the lag until the pause annotation is removed",
    };
  }
  if (ready.status === "True") {
    return { status: "True", reason: REASONS.scalerReady, message: `${what} is ready` };
  }
  return {
    status: ready.status === "False" ? "False" : "Unknown",
    reason: REASONS.scalerNotReady,
    message: `${what} is not ready (${ready.reason ?? "no reason"}): ${
      ready.message ?? "no message"
    }${failures}; ${HINT}`,
  };
}

/** ` (metric m failed 4 times in a row)` for KEDA's failing metrics, or nothing. */
function failingMetrics(status: ScaledObjectStatusView | undefined): string {
  const failing = Object.entries(status?.health ?? {})
    .filter(([, health]) => health.status === "Failing")
    .map(([metric, health]) => `${metric} failed ${health.numberOfFailures ?? "?"} times in a row`);
  return failing.length > 0 ? ` (${failing.join(", ")})` : "";
}
