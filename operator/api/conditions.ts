/**
 * The conditions a pool's status carries and every reason the operator
 * writes on them: part of the API (programs and alerts match on reasons), and
 * the source of the status section of the generated reference.
 *
 * @module
 */

/** One documented condition reason. */
export interface ReasonDoc {
  /** The CamelCase reason. */
  reason: string;
  /** The condition status it comes with. */
  status: "True" | "False" | "Unknown" | "False or Unknown";
  /** What it means and what to do. */
  meaning: string;
}

/** One documented condition type. */
export interface ConditionDoc {
  /** The condition type. */
  type: "Ready" | "TopicReady" | "ScalerReady" | "Available";
  /** What it says. */
  summary: string;
  /** Its reasons. */
  reasons: readonly ReasonDoc[];
}

const blockers: readonly ReasonDoc[] = [
  {
    reason: "ConsumerGroupConflict",
    status: "False",
    meaning: "Another pool on the same brokers (in any watched namespace) already runs this " +
      "consumer group; this pool's workers are stopped. Give it a group of its own.",
  },
  {
    reason: "InvalidSpec",
    status: "False",
    meaning: "The spec passed admission but cannot be turned into a Deployment.",
  },
  {
    reason: "GeneratedObjectRejected",
    status: "False",
    meaning: "The API server rejected a generated object; the message quotes it.",
  },
  {
    reason: "Forbidden",
    status: "False",
    meaning: "The operator's RBAC does not allow writing a generated object.",
  },
  {
    reason: "NamespaceNotFound",
    status: "False",
    meaning: "topicProvisioning.strimzi.namespace does not exist.",
  },
  {
    reason: "TopicOwnedByAnotherPool",
    status: "False",
    meaning: "The KafkaTopic exists for another pool with a different spec, or was not made " +
      "by jobpool.",
  },
];

/** Every condition of `status.conditions`, in the order they are written. */
export const CONDITION_DOCS: readonly ConditionDoc[] = [
  {
    type: "Ready",
    summary: "True only when TopicReady, ScalerReady and Available all are True; otherwise " +
      "its reason names the first part that is False (else Unknown), or what blocks the pool.",
    reasons: [
      { reason: "PoolReady", status: "True", meaning: "Topic, scaler and workers are ready." },
      {
        reason: "TopicNotReady",
        status: "False or Unknown",
        meaning: "See TopicReady.",
      },
      { reason: "ScalerNotReady", status: "False or Unknown", meaning: "See ScalerReady." },
      { reason: "WorkersNotAvailable", status: "False or Unknown", meaning: "See Available." },
      ...blockers,
    ],
  },
  {
    type: "TopicReady",
    summary: "The job topic: the Strimzi KafkaTopic's own Ready condition, or True when the " +
      "operator does not provision it.",
    reasons: [
      { reason: "TopicReady", status: "True", meaning: "Strimzi reports the KafkaTopic ready." },
      {
        reason: "NotManaged",
        status: "True",
        meaning: "topicProvisioning.mode is none: the topic must exist already.",
      },
      {
        reason: "WaitingForTopicOperator",
        status: "Unknown",
        meaning: "The KafkaTopic is applied; Strimzi has not reported on it yet.",
      },
      {
        reason: "TopicNotReady",
        status: "False or Unknown",
        meaning: "Strimzi reports the KafkaTopic not ready; the message quotes it.",
      },
      {
        reason: "CRDNotInstalled",
        status: "False",
        meaning: "Strimzi's KafkaTopic CRD is not installed.",
      },
      {
        reason: "VersionNotServed",
        status: "False",
        meaning: "The KafkaTopic CRD serves other versions than " +
          "topicProvisioning.strimzi.apiVersion; the message names them.",
      },
      {
        reason: "ApplyFailed",
        status: "False",
        meaning: "Applying the KafkaTopic failed; Ready says why.",
      },
      {
        reason: "TopicOwnedByAnotherPool",
        status: "False",
        meaning: "See Ready.",
      },
      { reason: "NotReconciled", status: "Unknown", meaning: "The pool is blocked; see Ready." },
    ],
  },
  {
    type: "ScalerReady",
    summary: "The KEDA ScaledObject, as KEDA reports it (its Ready, Fallback and Paused " +
      "conditions), or True when spec.scaling.mode is none.",
    reasons: [
      { reason: "ScalerReady", status: "True", meaning: "KEDA reports the ScaledObject ready." },
      {
        reason: "NotManaged",
        status: "True",
        meaning: "scaling.mode is none: a fixed replica count, no scaler.",
      },
      {
        reason: "WaitingForKeda",
        status: "Unknown",
        meaning: "The ScaledObject is applied; KEDA has not reported on it yet.",
      },
      {
        reason: "ScalerNotReady",
        status: "False or Unknown",
        meaning: "KEDA reports the ScaledObject not ready, e.g. TriggerError when the Kafka " +
          "scaler cannot read the lag (missing topic, wrong brokers or credentials).",
      },
      {
        reason: "FallbackActive",
        status: "False",
        meaning: "The scaler keeps failing and KEDA holds scaling.fallback.replicas instead of " +
          "following the lag.",
      },
      {
        reason: "ScalerPaused",
        status: "False",
        meaning: "The ScaledObject is paused (autoscaling.keda.sh/paused).",
      },
      {
        reason: "CRDNotInstalled",
        status: "False",
        meaning: "KEDA is not installed: the Deployment runs replicas.min replicas (at least one).",
      },
      {
        reason: "VersionNotServed",
        status: "False",
        meaning: "KEDA's CRDs serve other versions than keda.sh/v1alpha1 (KEDA 2.x).",
      },
      {
        reason: "ApplyFailed",
        status: "False",
        meaning: "Applying the ScaledObject failed; Ready says why.",
      },
      { reason: "NotReconciled", status: "Unknown", meaning: "The pool is blocked; see Ready." },
    ],
  },
  {
    type: "Available",
    summary: "The worker Deployment's own Available condition (True at zero replicas too, " +
      "when KEDA scaled an idle pool to zero).",
    reasons: [
      {
        reason: "MinimumReplicasAvailable",
        status: "True",
        meaning: "As the Deployment reports (its reason is copied).",
      },
      {
        reason: "MinimumReplicasUnavailable",
        status: "False",
        meaning: "As the Deployment reports (its reason is copied).",
      },
      {
        reason: "DeploymentPending",
        status: "Unknown",
        meaning: "The Deployment has no Available condition yet.",
      },
      {
        reason: "NotReconciled",
        status: "Unknown",
        meaning: "The Deployment was not applied; see Ready.",
      },
    ],
  },
];
