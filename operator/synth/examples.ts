/**
 * Example `JobWorkerPool` resources as a person writes them (defaults left
 * out), for `manifests/examples/` and the docs.
 *
 * @module
 */

import { API_VERSION, type JobWorkerPoolSpecInput, KIND } from "../api/mod.ts";

/** A `JobWorkerPool` manifest before the API server defaults it. */
export interface JobWorkerPoolManifest {
  /** Always `jobpool.dev/v1alpha1`. */
  apiVersion: typeof API_VERSION;
  /** Always `JobWorkerPool`. */
  kind: typeof KIND;
  /** Name, namespace and labels of the example pool. */
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  /** The spec as a person writes it (defaults left out). */
  spec: JobWorkerPoolSpecInput;
}

/** One example: a file name under `manifests/examples/`, what it shows, and the pool. */
export interface Example {
  /** The file name under `manifests/examples/`. */
  file: string;
  /** What the example shows, written as a comment at the top of the file. */
  description: string;
  /** The pool itself. */
  pool: JobWorkerPoolManifest;
}

const WORKER_IMAGE = "ghcr.io/jobpool/worker:0.1.0";

/** The examples: an email pool on a SASL/TLS cluster, and a position pool on Strimzi. */
export function examples(): Example[] {
  return [
    {
      file: "email-pool.yaml",
      description: "Email jobs on a managed cluster (e.g. MSK) with SASL/SCRAM over TLS, " +
        "spread over zones, scaling down slowly, and held at 2 replicas while KEDA cannot " +
        "read the lag. Needs the Secrets kafka-credentials (username, password), " +
        "jobpool-database (url) and jobpool-smtp (SMTP_* variables).",
      pool: {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: "emails" },
        spec: {
          image: WORKER_IMAGE,
          jobTypes: ["job.email.*"],
          kafka: {
            bootstrapServers: ["b-1.kafka.example.com:9096", "b-2.kafka.example.com:9096"],
            topic: { name: "job-events", partitions: 12 },
            tls: { enabled: true },
            sasl: { mechanism: "scram-sha-512", secretRef: { name: "kafka-credentials" } },
          },
          pool: { min: 5, max: 20 },
          replicas: { min: 1, max: 12 },
          scaling: {
            lagThreshold: 100,
            // Scale down no faster than one pod a minute, after ten calm minutes.
            behavior: {
              scaleDown: {
                stabilizationWindowSeconds: 600,
                policies: [{ type: "Pods", value: 1, periodSeconds: 60 }],
              },
            },
            fallback: { replicas: 2 },
          },
          topologySpreadConstraints: [{
            maxSkew: 1,
            topologyKey: "topology.kubernetes.io/zone",
            whenUnsatisfiable: "ScheduleAnyway",
          }],
          env: [
            {
              name: "DATABASE_URL",
              valueFrom: { secretKeyRef: { name: "jobpool-database", key: "url" } },
            },
            { name: "APP_BASE_URL", value: "https://waitlist.example.com" },
          ],
          envFrom: [{ secretRef: { name: "jobpool-smtp" } }],
          resources: {
            requests: { cpu: "100m", memory: "128Mi" },
            limits: { memory: "512Mi" },
          },
        },
      },
    },
    {
      file: "position-recalculation-pool.yaml",
      description: "Position recalculation on a Strimzi cluster without authentication; the " +
        "operator provisions the topic as a KafkaTopic and keeps it when the pool goes. " +
        "Needs the Secret jobpool-database (url).",
      pool: {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: "position-recalculation" },
        spec: {
          image: WORKER_IMAGE,
          jobTypes: ["job.position.recalculate"],
          kafka: {
            bootstrapServers: ["jobpool-kafka-bootstrap.kafka.svc:9092"],
            topic: {
              name: "job-events",
              partitions: 12,
              replicationFactor: 3,
              config: { "retention.ms": 604800000, "min.insync.replicas": 2 },
            },
          },
          pool: { min: 1, max: 4 },
          replicas: { min: 0, max: 4 },
          scaling: { lagThreshold: 20, cooldownPeriod: 600 },
          env: [
            {
              name: "DATABASE_URL",
              valueFrom: { secretKeyRef: { name: "jobpool-database", key: "url" } },
            },
          ],
          topicProvisioning: {
            mode: "strimzi",
            strimzi: { clusterName: "jobpool-kafka", namespace: "kafka", deletionPolicy: "Retain" },
          },
        },
      },
    },
  ];
}
