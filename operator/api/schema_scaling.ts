/**
 * The `spec.scaling` part of the `JobWorkerPool` schema: the KEDA Kafka lag
 * trigger, its fallback, and the HPA's scaling behavior.
 *
 * @module
 */

/** One direction of the HPA's behavior (autoscaling/v2 HPAScalingRules). */
const scalingRules = {
  type: "object",
  properties: {
    stabilizationWindowSeconds: {
      type: "integer",
      format: "int32",
      description: "Seconds of past recommendations the HPA considers (the highest when " +
        "scaling down), so a short dip does not remove replicas.",
      minimum: 0,
      maximum: 3600,
    },
    selectPolicy: { type: "string", enum: ["Max", "Min", "Disabled"] },
    policies: {
      type: "array",
      maxItems: 8,
      "x-kubernetes-list-type": "atomic",
      items: {
        type: "object",
        required: ["type", "value", "periodSeconds"],
        properties: {
          type: { type: "string", enum: ["Pods", "Percent"] },
          value: { type: "integer", format: "int32", minimum: 1 },
          periodSeconds: { type: "integer", format: "int32", minimum: 1, maximum: 1800 },
        },
      },
    },
  },
} as const;

/** The schema of `spec.scaling`. */
export const scalingSchema = {
  type: "object",
  description: "The KEDA Kafka lag trigger.",
  default: {},
  "x-kubernetes-validations": [
    {
      rule: "!(self.allowIdleConsumers && self.limitToPartitionsWithLag)",
      message: "allowIdleConsumers and limitToPartitionsWithLag cannot both be set: KEDA " +
        "refuses the combination",
      fieldPath: ".limitToPartitionsWithLag",
    },
  ],
  properties: {
    mode: {
      type: "string",
      description: "keda: KEDA scales the Deployment between replicas.min and max on " +
        "consumer lag. none: no scaler; the Deployment runs a fixed replicas.min replicas " +
        "(set replicas.min equal to replicas.max).",
      enum: ["keda", "none"],
      default: "keda",
    },
    lagThreshold: {
      type: "integer",
      format: "int64",
      description: "Target lag per replica.",
      minimum: 1,
      default: 50,
    },
    activationLagThreshold: {
      type: "integer",
      format: "int64",
      description: "Lag above which the pool scales up from zero replicas.",
      minimum: 0,
      default: 0,
    },
    pollingInterval: {
      type: "integer",
      format: "int32",
      description: "Seconds between lag checks.",
      minimum: 1,
      default: 30,
    },
    cooldownPeriod: {
      type: "integer",
      format: "int32",
      description: "Seconds after the last activation before scaling to zero.",
      minimum: 0,
      default: 300,
    },
    allowIdleConsumers: {
      type: "boolean",
      description: "Allow more replicas than partitions (the extra ones sit idle).",
      default: false,
    },
    limitToPartitionsWithLag: {
      type: "boolean",
      description: "Cap replicas at the number of partitions that have lag, not at all " +
        "partitions (KEDA's limitToPartitionsWithLag).",
      default: false,
    },
    excludePersistentLag: {
      type: "boolean",
      description: "Leave out partitions whose committed offset does not move between polls " +
        "(a stuck partition), so they do not hold replicas up.",
      default: false,
    },
    scaleToZeroOnInvalidOffset: {
      type: "boolean",
      description: "Scale to zero rather than to one while the group has no committed " +
        "offset on a partition (e.g. a new group).",
      default: false,
    },
    behavior: {
      type: "object",
      description: "How fast the HPA scales up and down (autoscaling/v2 " +
        "HorizontalPodAutoscalerBehavior), e.g. scaleDown.stabilizationWindowSeconds to damp " +
        "scale-down; the HPA's defaults when unset.",
      properties: { scaleUp: scalingRules, scaleDown: scalingRules },
    },
    fallback: {
      type: "object",
      description: "Replicas KEDA holds while it cannot read the lag (failureThreshold failed " +
        "reads in a row: a missing topic, unreachable brokers, bad credentials) instead of " +
        "leaving the pool as it was; no fallback when unset. A pool already at zero replicas " +
        "stays there (the HPA is off at zero), so with replicas.min 0 it covers a running pool " +
        "only. ScalerReady is False (FallbackActive) meanwhile.",
      required: ["replicas"],
      properties: {
        replicas: { type: "integer", format: "int32", minimum: 0, maximum: 1000 },
        failureThreshold: {
          type: "integer",
          format: "int32",
          description: "Failed lag reads in a row before the fallback applies.",
          minimum: 1,
          maximum: 1000,
          default: 3,
        },
        behavior: {
          type: "string",
          description: "static: exactly replicas; currentReplicas: keep the current count; " +
            "currentReplicasIfHigher / IfLower: the current count when it is higher (lower) " +
            "than replicas, else replicas.",
          enum: ["static", "currentReplicas", "currentReplicasIfHigher", "currentReplicasIfLower"],
          default: "static",
        },
      },
    },
  },
} as const;
