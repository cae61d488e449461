/**
 * The small typed subset of Strimzi's `KafkaTopic` that jobpool writes, as a
 * cdk8s construct: `kafka.strimzi.io/v1` (Strimzi 0.49 and later) or the
 * older `v1beta2`, which share these fields.
 *
 * @module
 */

import { ApiObject, type ApiObjectMetadata } from "cdk8s";
import type { Construct } from "constructs";

/** Strimzi's API group. */
export const STRIMZI_GROUP = "kafka.strimzi.io";

/** The label naming the Kafka cluster whose topic operator manages the topic. */
export const STRIMZI_CLUSTER_LABEL = "strimzi.io/cluster";

/** The `spec` of a KafkaTopic. */
export interface KafkaTopicSpec {
  /** The topic's name in Kafka, when it differs from (or cannot be) the object's name. */
  topicName?: string;
  /** The partition count (it can only grow). */
  partitions: number;
  /** The replication factor. */
  replicas: number;
  /** Topic configuration, e.g. `retention.ms`. */
  config?: Record<string, string | number>;
}

/** Props of {@linkcode KafkaTopic}. */
export interface KafkaTopicProps {
  /** `v1` (default) or `v1beta2`. */
  version?: "v1" | "v1beta2";
  /** Must carry the {@linkcode STRIMZI_CLUSTER_LABEL} label. */
  metadata: ApiObjectMetadata;
  /** The KafkaTopic's spec. */
  spec: KafkaTopicSpec;
}

/** A Strimzi KafkaTopic. */
export class KafkaTopic extends ApiObject {
  /**
   * Creates the object in `scope`.
   *
   * @throws {TypeError} when the `strimzi.io/cluster` label is missing.
   */
  constructor(scope: Construct, id: string, props: KafkaTopicProps) {
    if (!props.metadata.labels?.[STRIMZI_CLUSTER_LABEL]) {
      throw new TypeError(
        `A KafkaTopic needs the ${STRIMZI_CLUSTER_LABEL} label: set it to the Kafka cluster's name`,
      );
    }
    super(scope, id, {
      apiVersion: `${STRIMZI_GROUP}/${props.version ?? "v1"}`,
      kind: "KafkaTopic",
      metadata: props.metadata,
      spec: props.spec,
    });
  }
}
