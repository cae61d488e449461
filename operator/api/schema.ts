/**
 * The `JobWorkerPool` OpenAPI v3 schema, written by hand as a structural
 * schema `as const`. It is the one source of truth: the CRD embeds it as is,
 * the TypeScript types are derived from it (see `schema_types.ts`), and
 * `applyDefaults` walks its `default`s. Cross-field rules are CEL
 * `x-kubernetes-validations`, checked by the API server at admission.
 *
 * Lists and strings carry `maxItems`/`maxLength` so the API server can bound
 * the cost of the CEL rules inside them.
 *
 * @module
 */

import { podFields } from "./schema_pod.ts";
import { scalingSchema } from "./schema_scaling.ts";

/** Environment variables the operator sets on the worker; a pool's `env` cannot set them. */
export const RESERVED_ENV_NAMES = [
  "KAFKA_BROKERS",
  "KAFKA_JOB_TOPIC",
  "KAFKA_JOB_CONSUMER_GROUP",
  "KAFKA_WORKER_POOL_SIZE",
  "KAFKA_WORKER_POOL_MIN",
  "KAFKA_WORKER_POOL_MAX",
  "KAFKA_JOB_TYPES",
  "KAFKA_OFFSET_RESET",
  "KAFKA_TLS",
  "KAFKA_TLS_CA_FILE",
  "KAFKA_TLS_CERT_FILE",
  "KAFKA_TLS_KEY_FILE",
  "KAFKA_SASL_MECHANISM",
  "KAFKA_SASL_USERNAME",
  "KAFKA_SASL_PASSWORD",
  "METRICS_PORT",
] as const;

/** A DNS-1123 subdomain, the name of a Secret or ConfigMap. */
const objectName = {
  type: "string",
  minLength: 1,
  maxLength: 253,
  pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
} as const;

/** A key inside a Secret or ConfigMap. */
const dataKey = {
  type: "string",
  minLength: 1,
  maxLength: 253,
  pattern: "^[-._a-zA-Z0-9]+$",
} as const;

/** A resource quantity such as `100m`, `128Mi` or `2`. */
const quantity = {
  anyOf: [{ type: "integer" }, { type: "string" }],
  pattern:
    "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$",
  "x-kubernetes-int-or-string": true,
} as const;

const resourceList = {
  type: "object",
  maxProperties: 16,
  additionalProperties: quantity,
} as const;

const keyRef = {
  type: "object",
  required: ["name", "key"],
  properties: {
    name: objectName,
    key: dataKey,
    optional: { type: "boolean" },
  },
} as const;

const nameRef = {
  type: "object",
  required: ["name"],
  properties: { name: objectName },
} as const;

const conditionSchema = {
  type: "object",
  description: "One aspect of the pool's state, in the shape of metav1.Condition.",
  required: ["type", "status", "reason", "message", "lastTransitionTime"],
  properties: {
    type: {
      type: "string",
      description: "Ready, TopicReady, ScalerReady or Available.",
      maxLength: 316,
      pattern:
        "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
    },
    status: { type: "string", enum: ["True", "False", "Unknown"] },
    reason: {
      type: "string",
      description: "A CamelCase word a program can match on.",
      minLength: 1,
      maxLength: 1024,
      pattern: "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
    },
    message: { type: "string", description: "What a person should know.", maxLength: 32768 },
    lastTransitionTime: { type: "string", format: "date-time" },
    observedGeneration: { type: "integer", format: "int64", minimum: 0 },
  },
} as const;

/** The schema of `spec`. */
export const jobWorkerPoolSpecSchema = {
  type: "object",
  description: "A pool of jobpool workers consuming one Kafka topic with one consumer group.",
  required: ["image", "kafka"],
  "x-kubernetes-validations": [
    {
      rule: "self.scaling.mode != 'none' || self.replicas.min == self.replicas.max",
      message: "scaling.mode none runs a fixed number of replicas: set replicas.min equal to " +
        "replicas.max",
      fieldPath: ".replicas.min",
      reason: "FieldValueInvalid",
    },
    {
      rule: "!has(self.scaling.fallback) || self.scaling.fallback.replicas <= self.replicas.max",
      message: "scaling.fallback.replicas must not exceed replicas.max",
      fieldPath: ".scaling.fallback.replicas",
      reason: "FieldValueInvalid",
    },
    {
      rule: "self.scaling.mode == 'keda' || !has(self.scaling.fallback)",
      message: "scaling.fallback needs scaling.mode keda: without a scaler there is nothing to " +
        "fall back from",
      fieldPath: ".scaling.fallback",
      reason: "FieldValueInvalid",
    },
    {
      rule: "self.scaling.allowIdleConsumers || self.replicas.max <= self.kafka.topic.partitions",
      message: "replicas.max must not exceed kafka.topic.partitions: replicas beyond the " +
        "partition count get no partition and sit idle; lower replicas.max, add partitions, " +
        "or set scaling.allowIdleConsumers",
      fieldPath: ".replicas.max",
      reason: "FieldValueInvalid",
    },
  ],
  properties: {
    image: {
      type: "string",
      description: "The worker container image, e.g. ghcr.io/jobpool/worker:0.1.0.",
      minLength: 1,
      maxLength: 1024,
    },
    imagePullPolicy: {
      type: "string",
      description: "When the kubelet pulls the image.",
      enum: ["Always", "IfNotPresent", "Never"],
      default: "IfNotPresent",
    },
    jobTypes: {
      type: "array",
      description: "Job types this pool handles: exact types, prefixes such as job.email.*, " +
        "or * for all. Workers skip (and commit) events of other types.",
      minItems: 1,
      maxItems: 64,
      default: ["*"],
      "x-kubernetes-list-type": "set",
      items: {
        type: "string",
        maxLength: 128,
        pattern: "^(\\*|[a-z][a-z0-9_]*(\\.[a-z0-9_]+)*(\\.\\*)?)$",
      },
    },
    kafka: {
      type: "object",
      description: "How the workers reach Kafka and which topic and group they use.",
      required: ["bootstrapServers"],
      properties: {
        bootstrapServers: {
          type: "array",
          description: "Bootstrap servers, host:port.",
          minItems: 1,
          maxItems: 32,
          items: { type: "string", maxLength: 260, pattern: "^[^\\s:,]+:[0-9]{1,5}$" },
        },
        topic: {
          type: "object",
          description: "The job topic.",
          default: {},
          properties: {
            name: {
              type: "string",
              description: "The Kafka topic name.",
              minLength: 1,
              maxLength: 249,
              pattern: "^[a-zA-Z0-9._-]+$",
              default: "job-events",
            },
            partitions: {
              type: "integer",
              format: "int32",
              description: "Partitions of the topic; it can grow but never shrink.",
              minimum: 1,
              maximum: 10000,
              default: 12,
              "x-kubernetes-validations": [
                {
                  rule: "self >= oldSelf",
                  message: "partitions can only grow: Kafka cannot remove partitions from a topic",
                  reason: "FieldValueForbidden",
                },
              ],
            },
            replicationFactor: {
              type: "integer",
              format: "int32",
              description: "Replicas of each partition.",
              minimum: 1,
              maximum: 32,
              default: 3,
              "x-kubernetes-validations": [
                {
                  rule: "self == oldSelf",
                  message: "replicationFactor is immutable: Strimzi cannot change it on an " +
                    "existing topic; reassign partitions by hand instead",
                  reason: "FieldValueForbidden",
                },
              ],
            },
            config: {
              type: "object",
              description: "Topic configuration, e.g. retention.ms.",
              maxProperties: 64,
              additionalProperties: {
                anyOf: [{ type: "integer" }, { type: "string" }],
                "x-kubernetes-int-or-string": true,
              },
            },
          },
        },
        consumerGroup: {
          type: "string",
          description: "The consumer group; defaults to jobpool.<namespace>.<name>. Groups are " +
            "cluster-wide: two pools on one Kafka cluster must not share one, whatever their " +
            "namespaces (the later one is stopped with ConsumerGroupConflict).",
          minLength: 1,
          maxLength: 249,
          pattern: "^[a-zA-Z0-9._-]+$",
        },
        tls: {
          type: "object",
          description: "TLS to the brokers.",
          default: {},
          properties: {
            enabled: { type: "boolean", default: false },
            caSecretRef: {
              type: "object",
              description: "A Secret holding the CA certificate; the system trust store if unset.",
              required: ["name"],
              properties: {
                name: objectName,
                key: { ...dataKey, default: "ca.crt" },
              },
            },
            clientCertSecretRef: {
              type: "object",
              description: "A Secret holding a client certificate and its key, for brokers " +
                "that require mutual TLS (a kubernetes.io/tls Secret fits); the workers mount " +
                "it and KEDA reads it through the TriggerAuthentication.",
              required: ["name"],
              properties: {
                name: objectName,
                certKey: { ...dataKey, default: "tls.crt" },
                keyKey: { ...dataKey, default: "tls.key" },
              },
            },
          },
          "x-kubernetes-validations": [
            {
              rule: "self.enabled || !has(self.caSecretRef)",
              message: "caSecretRef needs enabled: true",
              fieldPath: ".caSecretRef",
            },
            {
              rule: "self.enabled || !has(self.clientCertSecretRef)",
              message: "clientCertSecretRef needs enabled: true",
              fieldPath: ".clientCertSecretRef",
            },
          ],
        },
        sasl: {
          type: "object",
          description: "SASL authentication; credentials come from a Secret.",
          required: ["mechanism", "secretRef"],
          properties: {
            mechanism: { type: "string", enum: ["plain", "scram-sha-256", "scram-sha-512"] },
            secretRef: {
              type: "object",
              required: ["name"],
              properties: {
                name: objectName,
                usernameKey: { ...dataKey, default: "username" },
                passwordKey: { ...dataKey, default: "password" },
              },
            },
          },
        },
      },
    },
    pool: {
      type: "object",
      description: "Concurrent jobs per worker process (adaptive between min and max).",
      default: {},
      "x-kubernetes-validations": [
        {
          rule: "self.min <= self.max",
          message: "pool.min must be <= pool.max",
          fieldPath: ".min",
        },
      ],
      properties: {
        min: { type: "integer", format: "int32", minimum: 1, maximum: 10000, default: 1 },
        max: { type: "integer", format: "int32", minimum: 1, maximum: 10000, default: 10 },
      },
    },
    replicas: {
      type: "object",
      description: "Worker Deployment replicas; KEDA scales between min and max on lag.",
      default: {},
      "x-kubernetes-validations": [
        {
          rule: "self.min <= self.max",
          message: "replicas.min must be <= replicas.max",
          fieldPath: ".min",
        },
      ],
      properties: {
        min: { type: "integer", format: "int32", minimum: 0, maximum: 1000, default: 1 },
        max: { type: "integer", format: "int32", minimum: 1, maximum: 1000, default: 10 },
      },
    },
    scaling: scalingSchema,
    env: {
      type: "array",
      description: "Extra environment variables for the worker (database, SMTP, ...).",
      maxItems: 128,
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["name"],
      items: {
        type: "object",
        required: ["name"],
        "x-kubernetes-validations": [
          {
            rule: `!(self.name in [${RESERVED_ENV_NAMES.map((name) => `'${name}'`).join(", ")}])`,
            message: `the operator sets ${RESERVED_ENV_NAMES.join(", ")} from the spec: use the ` +
              "matching spec field instead",
            fieldPath: ".name",
          },
          {
            rule: "!(has(self.value) && has(self.valueFrom))",
            message: "set value or valueFrom, not both",
          },
        ],
        properties: {
          name: {
            type: "string",
            minLength: 1,
            maxLength: 256,
            pattern: "^[-._a-zA-Z][-._a-zA-Z0-9]*$",
          },
          value: { type: "string" },
          valueFrom: {
            type: "object",
            "x-kubernetes-validations": [
              {
                rule: "has(self.secretKeyRef) != has(self.configMapKeyRef)",
                message: "set exactly one of secretKeyRef and configMapKeyRef",
              },
            ],
            properties: {
              secretKeyRef: keyRef,
              configMapKeyRef: keyRef,
            },
          },
        },
      },
    },
    envFrom: {
      type: "array",
      description: "Secrets (or ConfigMaps) whose keys become environment variables.",
      maxItems: 32,
      "x-kubernetes-list-type": "atomic",
      items: {
        type: "object",
        "x-kubernetes-validations": [
          {
            rule: "has(self.secretRef) != has(self.configMapRef)",
            message: "set exactly one of secretRef and configMapRef",
          },
        ],
        properties: {
          prefix: { type: "string", maxLength: 128, pattern: "^[-._a-zA-Z0-9]*$" },
          secretRef: nameRef,
          configMapRef: nameRef,
        },
      },
    },
    ...podFields,
    resources: {
      type: "object",
      description: "Worker container resources.",
      default: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
      properties: {
        requests: resourceList,
        limits: resourceList,
      },
    },
    topicProvisioning: {
      type: "object",
      description: "Who creates the topic: a Strimzi KafkaTopic, or nobody (it exists already).",
      default: {},
      "x-kubernetes-validations": [
        {
          rule: "self.mode != 'strimzi' || has(self.strimzi)",
          message: "topicProvisioning.strimzi (clusterName at least) is required with " +
            "mode: strimzi",
          fieldPath: ".strimzi",
        },
      ],
      properties: {
        mode: { type: "string", enum: ["strimzi", "none"], default: "none" },
        strimzi: {
          type: "object",
          required: ["clusterName"],
          properties: {
            clusterName: {
              type: "string",
              description: "The Strimzi Kafka cluster (strimzi.io/cluster label).",
              minLength: 1,
              maxLength: 63,
              pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
            },
            namespace: {
              type: "string",
              description: "Where the Kafka cluster and its topic operator live; the pool's " +
                "namespace if unset.",
              minLength: 1,
              maxLength: 63,
              pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
            },
            apiVersion: {
              type: "string",
              description: "KafkaTopic API version: v1 (Strimzi >= 0.49) or v1beta2 (older).",
              enum: ["v1", "v1beta2"],
              default: "v1",
            },
            deletionPolicy: {
              type: "string",
              description: "What deleting the pool does to the topic and its unprocessed jobs.",
              enum: ["Delete", "Retain"],
              default: "Retain",
            },
          },
        },
      },
    },
  },
} as const;

/** The schema of `status`. */
export const jobWorkerPoolStatusSchema = {
  type: "object",
  description: "What the operator last observed.",
  properties: {
    observedGeneration: { type: "integer", format: "int64", minimum: 0 },
    conditions: {
      type: "array",
      maxItems: 16,
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["type"],
      items: conditionSchema,
    },
    replicas: {
      type: "integer",
      format: "int32",
      minimum: 0,
      description: "Replicas of the worker Deployment.",
    },
    lag: {
      type: "integer",
      format: "int64",
      minimum: 0,
      description: "Total lag of the consumer group, when the operator can reach Kafka.",
    },
    consumerGroup: { type: "string", description: "The consumer group in use." },
  },
} as const;

/** The whole `openAPIV3Schema` of the CRD's `v1alpha1` version. */
export const jobWorkerPoolSchema = {
  type: "object",
  description: "JobWorkerPool: a Deployment of jobpool workers scaled by KEDA on consumer lag.",
  required: ["spec"],
  "x-kubernetes-validations": [
    {
      rule: "self.metadata.name.size() <= 63",
      message: "metadata.name must be at most 63 characters: it becomes the value of the worker " +
        "Pods' app.kubernetes.io/instance label",
    },
  ],
  properties: {
    apiVersion: { type: "string" },
    kind: { type: "string" },
    metadata: { type: "object" },
    spec: jobWorkerPoolSpecSchema,
    status: jobWorkerPoolStatusSchema,
  },
} as const;
