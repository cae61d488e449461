/**
 * Status computation, pure: conditions that keep their `lastTransitionTime`
 * while their status does not change, `Available` read from the Deployment,
 * and `Ready` summarizing the rest: True only when the topic, the scaler and
 * the workers all are.
 *
 * @module
 */

import type { Condition, ConditionType, JobWorkerPoolStatus } from "../api/mod.ts";

/** A condition's content, without times and generation. */
export interface ConditionState {
  /** `True`, `False` or `Unknown`. */
  status: "True" | "False" | "Unknown";
  /** CamelCase, e.g. `CRDNotInstalled`. */
  reason: string;
  /** What a person should know or do. */
  message: string;
}

/** Reasons the reconciler uses, so programs and tests can match on them. */
export const REASONS = {
  poolReady: "PoolReady",
  topicPartNotReady: "TopicNotReady",
  scalerPartNotReady: "ScalerNotReady",
  workersNotAvailable: "WorkersNotAvailable",
  crdNotInstalled: "CRDNotInstalled",
  versionNotServed: "VersionNotServed",
  consumerGroupConflict: "ConsumerGroupConflict",
  invalidSpec: "InvalidSpec",
  generatedObjectRejected: "GeneratedObjectRejected",
  applyFailed: "ApplyFailed",
  forbidden: "Forbidden",
  topicNotManaged: "NotManaged",
  topicOwnedByAnotherPool: "TopicOwnedByAnotherPool",
  topicNamespaceNotFound: "NamespaceNotFound",
  waitingForTopicOperator: "WaitingForTopicOperator",
  topicReady: "TopicReady",
  topicNotReady: "TopicNotReady",
  waitingForKeda: "WaitingForKeda",
  scalerReady: "ScalerReady",
  scalerNotReady: "ScalerNotReady",
  scalerNotManaged: "NotManaged",
  fallbackActive: "FallbackActive",
  scalerPaused: "ScalerPaused",
  deploymentPending: "DeploymentPending",
  notReconciled: "NotReconciled",
} as const;

/**
 * `conditions` with `type` set to `state`: a changed status gets
 * `lastTransitionTime = now`, an unchanged one keeps its time. The order of
 * the other conditions is kept.
 */
export function setCondition(
  conditions: readonly Condition[],
  type: ConditionType,
  options: { state: ConditionState; now: string; observedGeneration: number },
): Condition[] {
  const { state, now, observedGeneration } = options;
  const existing = conditions.find((c) => c.type === type);
  const next: Condition = {
    type,
    status: state.status,
    reason: state.reason,
    message: state.message,
    lastTransitionTime: existing && existing.status === state.status
      ? existing.lastTransitionTime
      : now,
    observedGeneration,
  };
  return existing ? conditions.map((c) => c.type === type ? next : c) : [...conditions, next];
}

/** The Deployment's status fields the operator reads. */
export interface DeploymentStatusView {
  /** Pods the Deployment has. */
  replicas?: number;
  /** Pods that are ready. */
  readyReplicas?: number;
  /** Pods available for at least minReadySeconds. */
  availableReplicas?: number;
  /** The Deployment's own conditions (`Available`, `Progressing`). */
  conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
}

/** `Available` mirrored from the Deployment's own `Available` condition. */
export function availableFromDeployment(
  name: string,
  status: DeploymentStatusView | undefined,
): ConditionState {
  const available = status?.conditions?.find((c) => c.type === "Available");
  if (!available) {
    return {
      status: "Unknown",
      reason: REASONS.deploymentPending,
      message: `Deployment ${name} reports no Available condition yet ` +
        "(it appears once kube-controller-manager has rolled it out)",
    };
  }
  const state = available.status === "True" || available.status === "False"
    ? available.status
    : "Unknown";
  return {
    status: state,
    reason: available.reason && /^[A-Za-z][A-Za-z0-9_]*$/.test(available.reason)
      ? available.reason
      : state === "True"
      ? "MinimumReplicasAvailable"
      : "MinimumReplicasUnavailable",
    message: `Deployment ${name}: ${
      available.message ?? `${status?.availableReplicas ?? 0} replicas available`
    }`,
  };
}

/** Everything {@linkcode computeStatus} needs. */
export interface StatusInput {
  /** `metadata.generation` of the pool that was reconciled. */
  generation: number;
  /** The status as last written (its conditions keep their transition times). */
  previous: JobWorkerPoolStatus | undefined;
  /** ISO time for new transitions. */
  now: string;
  /** The consumer group the pool uses. */
  consumerGroup: string;
  /** A problem a person must fix (a conflict, an invalid spec, a rejected object). */
  blocker?: ConditionState | undefined;
  /** `TopicReady`. */
  topic: ConditionState;
  /** `ScalerReady`. */
  scaler: ConditionState;
  /** Name and status of the worker Deployment, when it was applied. */
  deployment?: { name: string; status: DeploymentStatusView | undefined } | undefined;
}

/** The status to write: conditions in the fixed order Ready, TopicReady, ScalerReady, Available. */
export function computeStatus(input: StatusInput): JobWorkerPoolStatus {
  const { generation: observedGeneration, now } = input;
  let conditions: Condition[] = [...(input.previous?.conditions ?? [])];
  const set = (type: ConditionType, state: ConditionState) => {
    conditions = setCondition(conditions, type, { state, now, observedGeneration });
  };
  const available = input.deployment
    ? availableFromDeployment(input.deployment.name, input.deployment.status)
    : {
      status: "Unknown" as const,
      reason: REASONS.notReconciled,
      message: "The worker Deployment was not applied: see the Ready condition",
    };
  const ready = input.blocker ?? summarizeReady({
    topic: input.topic,
    scaler: input.scaler,
    available,
  });
  set("Ready", ready);
  set("TopicReady", input.topic);
  set("ScalerReady", input.scaler);
  set("Available", available);
  const order: readonly string[] = ["Ready", "TopicReady", "ScalerReady", "Available"];
  conditions.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
  const status: JobWorkerPoolStatus = {
    observedGeneration,
    conditions,
    replicas: input.deployment?.status?.replicas ?? 0,
    consumerGroup: input.consumerGroup,
  };
  return status;
}

/** A condition state from a custom resource's `Ready` condition written by its own operator. */
export function fromForeignReady(
  status: { conditions?: Array<{ type?: string; status?: string; message?: string }> } | undefined,
  options: { readyReason: string; notReadyReason: string; missing: ConditionState; what: string },
): ConditionState {
  const ready = status?.conditions?.find((c) => c.type === "Ready");
  if (!ready) return options.missing;
  if (ready.status === "True") {
    return { status: "True", reason: options.readyReason, message: `${options.what} is ready` };
  }
  return {
    status: ready.status === "False" ? "False" : "Unknown",
    reason: options.notReadyReason,
    message: `${options.what} is not ready: ${ready.message ?? "no message"}`,
  };
}

/** What `Ready` summarizes, each part a condition of its own. */
export interface ReadyParts {
  /** `TopicReady`. */
  topic: ConditionState;
  /** `ScalerReady`. */
  scaler: ConditionState;
  /** `Available`. */
  available: ConditionState;
}

/**
 * `Ready`: True only when every part is; otherwise it names the first part
 * that is False (else the first that is Unknown), in the order a pool depends
 * on them: the topic, the scaler that reads its lag, the workers.
 */
export function summarizeReady(parts: ReadyParts): ConditionState {
  const named = [
    { type: "TopicReady", state: parts.topic, reason: REASONS.topicPartNotReady },
    { type: "ScalerReady", state: parts.scaler, reason: REASONS.scalerPartNotReady },
    { type: "Available", state: parts.available, reason: REASONS.workersNotAvailable },
  ] as const;
  const failing = named.find((part) => part.state.status === "False") ??
    named.find((part) => part.state.status === "Unknown");
  if (!failing) {
    return {
      status: "True",
      reason: REASONS.poolReady,
      message: "The topic, the scaler and the workers are ready",
    };
  }
  const others = named.filter((part) => part !== failing && part.state.status !== "True")
    .map((part) => `${part.type} is ${part.state.status} (${part.state.reason})`);
  return {
    status: failing.state.status,
    reason: failing.reason,
    message: `${failing.type} is ${failing.state.status} (${failing.state.reason}): ` +
      failing.state.message + (others.length > 0 ? `; also ${others.join(", ")}` : ""),
  };
}
