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
  bootstrapServers: string;
  consumerGroup: string;
  topic: string;
  lagThreshold: string;
  activationLagThreshold: string;
  offsetResetPolicy: "earliest" | "latest";
  allowIdleConsumers: "true" | "false";
  /** `plaintext`, `scram_sha256` or `scram_sha512`; credentials come from the authentication. */
  sasl?: "plaintext" | "scram_sha256" | "scram_sha512";
  /** `enable` for TLS to the brokers. */
  tls?: "enable";
}

/** A `kafka` trigger. */
export interface KafkaTrigger {
  type: "kafka";
  metadata: KafkaTriggerMetadata;
  authenticationRef?: { name: string; kind?: "TriggerAuthentication" };
}

/** The `spec` of a ScaledObject, as far as jobpool uses it. */
export interface ScaledObjectSpec {
  scaleTargetRef: { name: string; kind?: string; apiVersion?: string };
  pollingInterval?: number;
  cooldownPeriod?: number;
  minReplicaCount?: number;
  maxReplicaCount?: number;
  triggers: KafkaTrigger[];
}

/** Props of {@linkcode ScaledObject}. */
export interface ScaledObjectProps {
  metadata: ApiObjectMetadata;
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
  metadata: ApiObjectMetadata;
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
