/**
 * The small typed subset of KEDA's `ScaledObject` and `TriggerAuthentication`
 * (`keda.sh/v1alpha1`) that jobpool writes, as cdk8s constructs. Hand-written
 * from KEDA's documented fields; the API server checks them against KEDA's
 * real CRDs in the integration tests.
 *
 * @module
 */

import { ApiObject, type ApiObjectMetadata } from "cdk8s";
import type { Construct } from "constructs";

/** KEDA's API version. */
export const KEDA_API_VERSION = "keda.sh/v1alpha1";

/** The metadata of KEDA's `kafka` trigger; KEDA reads every value as a string. */
export interface KafkaTriggerMetadata {
  /** Comma-separated bootstrap servers. */
  bootstrapServers: string;
  /** The consumer group whose lag drives scaling. */
  consumerGroup: string;
  /** The topic the lag is measured on (always set, so partitions of other topics never count). */
  topic: string;
  /** Target lag per replica, as a string (KEDA's metadata is all strings). */
  lagThreshold: string;
  /** Lag above which KEDA wakes the Deployment from `minReplicaCount`. */
  activationLagThreshold: string;
  /** Where a partition without a committed offset starts, matching the worker. */
  offsetResetPolicy: "earliest" | "latest";
  /** Whether replicas beyond the partition count are allowed (they sit idle). */
  allowIdleConsumers: "true" | "false";
  /** Whether only partitions with lag count towards the replica cap. */
  limitToPartitionsWithLag: "true" | "false";
  /** Whether partitions whose offset does not move are left out of the lag. */
  excludePersistentLag: "true" | "false";
  /** Whether a partition without a valid committed offset lets the pool scale to zero. */
  scaleToZeroOnInvalidOffset: "true" | "false";
  /** `plaintext`, `scram_sha256` or `scram_sha512`; credentials come from the authentication. */
  sasl?: "plaintext" | "scram_sha256" | "scram_sha512";
  /** `enable` for TLS to the brokers. */
  tls?: "enable";
}

/** A `kafka` trigger. */
export interface KafkaTrigger {
  /** Always `kafka`. */
  type: "kafka";
  /** The trigger's settings. */
  metadata: KafkaTriggerMetadata;
  /** The TriggerAuthentication with SASL credentials or a TLS CA, when one is needed. */
  authenticationRef?: { name: string; kind?: "TriggerAuthentication" };
}

/** What KEDA does while a trigger keeps failing. */
export interface ScaledObjectFallback {
  /** Failed reads in a row before the fallback applies. */
  failureThreshold: number;
  /** Replicas to hold meanwhile. */
  replicas: number;
  /** `static` (exactly `replicas`) or one of the current-replicas variants. */
  behavior?: "static" | "currentReplicas" | "currentReplicasIfHigher" | "currentReplicasIfLower";
}

/** The `spec` of a ScaledObject, as far as jobpool uses it. */
export interface ScaledObjectSpec {
  /** The Deployment KEDA scales. */
  scaleTargetRef: { name: string; kind?: string; apiVersion?: string };
  /** Seconds between lag checks. */
  pollingInterval?: number;
  /** Seconds to wait after the last active trigger before scaling to `minReplicaCount`. */
  cooldownPeriod?: number;
  /** The fewest replicas. */
  minReplicaCount?: number;
  /** The most replicas. */
  maxReplicaCount?: number;
  /** Replicas to hold while the triggers fail. */
  fallback?: ScaledObjectFallback;
  /** The HPA KEDA creates: its scaling behavior (autoscaling/v2, passed through). */
  advanced?: { horizontalPodAutoscalerConfig?: { behavior?: unknown } };
  /** The lag triggers. */
  triggers: KafkaTrigger[];
}

/** Props of {@linkcode ScaledObject}. */
export interface ScaledObjectProps {
  /** Name, namespace, labels and owner references. */
  metadata: ApiObjectMetadata;
  /** The ScaledObject's spec. */
  spec: ScaledObjectSpec;
}

/** A KEDA ScaledObject. */
export class ScaledObject extends ApiObject {
  /** Creates the object in `scope`. */
  constructor(scope: Construct, id: string, props: ScaledObjectProps) {
    super(scope, id, {
      apiVersion: KEDA_API_VERSION,
      kind: "ScaledObject",
      metadata: props.metadata,
      spec: props.spec,
    });
  }
}

/** One Secret key handed to a trigger parameter. */
export interface SecretTargetRef {
  /** The trigger parameter, e.g. `username`, `password`, `ca`. */
  parameter: string;
  /** The Secret's name. */
  name: string;
  /** The key inside the Secret. */
  key: string;
}

/** Props of {@linkcode TriggerAuthentication}. */
export interface TriggerAuthenticationProps {
  /** Name, namespace, labels and owner references. */
  metadata: ApiObjectMetadata;
  /** The Secret keys handed to the trigger's parameters. */
  spec: { secretTargetRef: SecretTargetRef[] };
}

/** A KEDA TriggerAuthentication reading Secret keys. */
export class TriggerAuthentication extends ApiObject {
  /** Creates the object in `scope`. */
  constructor(scope: Construct, id: string, props: TriggerAuthenticationProps) {
    super(scope, id, {
      apiVersion: KEDA_API_VERSION,
      kind: "TriggerAuthentication",
      metadata: props.metadata,
      spec: props.spec,
    });
  }
}
