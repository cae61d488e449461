/**
 * The parts of the `JobWorkerPool` schema that shape the worker pods: where
 * they are scheduled, how they pull and run, their labels and annotations.
 * Named as in the operator's Helm chart values. Kubernetes types that are
 * large (affinity, label selectors) keep unknown fields: the API server
 * checks them when the operator applies the Deployment, and a rejection is
 * reported on the pool (`GeneratedObjectRejected`).
 *
 * @module
 */

/** Labels the operator sets on worker pods; `podLabels` may not set them. */
export const RESERVED_POD_LABELS = [
  "app.kubernetes.io/name",
  "app.kubernetes.io/instance",
  "app.kubernetes.io/managed-by",
] as const;

const stringMap = <Max extends number>(
  description: string,
  maxProperties: number,
  maxLength: Max,
) =>
  ({
    type: "object",
    description,
    maxProperties,
    additionalProperties: { type: "string", maxLength },
  }) as const;

const toleration = {
  type: "object",
  properties: {
    key: { type: "string", maxLength: 317 },
    operator: { type: "string", enum: ["Exists", "Equal"] },
    value: { type: "string", maxLength: 63 },
    effect: { type: "string", enum: ["NoSchedule", "PreferNoSchedule", "NoExecute"] },
    tolerationSeconds: { type: "integer", format: "int64" },
  },
} as const;

const topologySpreadConstraint = {
  type: "object",
  required: ["maxSkew", "topologyKey", "whenUnsatisfiable"],
  properties: {
    maxSkew: { type: "integer", format: "int32", minimum: 1 },
    topologyKey: { type: "string", minLength: 1, maxLength: 317 },
    whenUnsatisfiable: { type: "string", enum: ["DoNotSchedule", "ScheduleAnyway"] },
    labelSelector: {
      type: "object",
      description: "The worker pods' own selector labels when unset.",
      "x-kubernetes-preserve-unknown-fields": true,
    },
    minDomains: { type: "integer", format: "int32", minimum: 1 },
    nodeAffinityPolicy: { type: "string", enum: ["Honor", "Ignore"] },
    nodeTaintsPolicy: { type: "string", enum: ["Honor", "Ignore"] },
    matchLabelKeys: {
      type: "array",
      maxItems: 16,
      "x-kubernetes-list-type": "atomic",
      items: { type: "string", maxLength: 317 },
    },
  },
} as const;

/** The pod fields of `spec`, merged into its properties. */
export const podFields = {
  imagePullSecrets: {
    type: "array",
    description: "Secrets for pulling the worker image, e.g. [{name: regcred}].",
    maxItems: 16,
    "x-kubernetes-list-type": "atomic",
    items: {
      type: "object",
      required: ["name"],
      properties: {
        name: {
          type: "string",
          minLength: 1,
          maxLength: 253,
          pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
        },
      },
    },
  },
  serviceAccountName: {
    type: "string",
    description: "The worker pods' ServiceAccount (e.g. for cloud workload identity); the " +
      "namespace's default when unset. Its API token is not mounted: workers do not call the " +
      "Kubernetes API.",
    minLength: 1,
    maxLength: 253,
    pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
  },
  priorityClassName: {
    type: "string",
    description: "The worker pods' PriorityClass.",
    minLength: 1,
    maxLength: 253,
  },
  nodeSelector: stringMap("Node labels the worker pods must run on.", 32, 63),
  tolerations: {
    type: "array",
    description: "Taints the worker pods tolerate (Kubernetes Toleration list).",
    maxItems: 32,
    "x-kubernetes-list-type": "atomic",
    items: toleration,
  },
  affinity: {
    type: "object",
    description: "Node and pod (anti-)affinity of the worker pods (Kubernetes Affinity).",
    "x-kubernetes-preserve-unknown-fields": true,
  },
  topologySpreadConstraints: {
    type: "array",
    description: "How worker pods spread over zones or nodes (Kubernetes " +
      "TopologySpreadConstraint list); labelSelector defaults to the pool's pods.",
    maxItems: 8,
    "x-kubernetes-list-type": "atomic",
    items: topologySpreadConstraint,
  },
  podLabels: {
    ...stringMap("Extra labels of the worker pods.", 32, 63),
    "x-kubernetes-validations": [
      {
        rule: `!(${RESERVED_POD_LABELS.map((l) => `'${l}' in self`).join(" || ")})`,
        message: `the operator sets ${RESERVED_POD_LABELS.join(", ")} on worker pods: ` +
          "choose other label keys",
      },
    ],
  },
  podAnnotations: stringMap("Extra annotations of the worker pods.", 64, 65536),
  podSecurityContext: {
    type: "object",
    description: "The worker pods' user and groups, set explicitly (the image's numeric user by " +
      "default) so that runAsNonRoot is checked against a number.",
    default: {},
    properties: {
      runAsUser: { type: "integer", format: "int64", minimum: 1, default: 65532 },
      runAsGroup: { type: "integer", format: "int64", minimum: 0, default: 65532 },
      fsGroup: {
        type: "integer",
        format: "int64",
        minimum: 0,
        description: "Group owning mounted volumes.",
      },
    },
  },
  tmpSizeLimit: {
    anyOf: [{ type: "integer" }, { type: "string" }],
    description: "Size limit of the writable /tmp (an emptyDir; the root filesystem is " +
      "read-only). A pod writing more is evicted.",
    pattern:
      "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$",
    "x-kubernetes-int-or-string": true,
    default: "64Mi",
  },
} as const;
