/**
 * Deleting a deleted pool's KafkaTopics (deletionPolicy Delete), except one
 * another live pool still uses on the same Kafka cluster.
 *
 * @module
 */

import type { JobWorkerPool } from "../api/mod.ts";
import { LABELS } from "../synth/names.ts";
import { isResourceNotServed } from "../runtime/kube_client.ts";
import { RESOURCES, type ResourceType } from "../runtime/resources.ts";
import { sameKafkaCluster } from "./consumer_group.ts";
import type { ReconcileContext } from "./context.ts";

/** Deletes the KafkaTopics made for `pool`, except one another live pool still uses. */
export async function deleteTopics(
  context: ReconcileContext,
  pool: JobWorkerPool,
  signal: AbortSignal,
): Promise<void> {
  const { client, events } = context;
  const preferred = pool.spec.topicProvisioning.strimzi?.apiVersion === "v1beta2"
    ? [...TOPIC_TYPES].reverse()
    : TOPIC_TYPES;
  for (const type of preferred) {
    try {
      const topics = await client.list(type, {
        labelSelector: `${LABELS.poolUid}=${pool.metadata.uid}`,
        signal,
      });
      for (const topic of topics.items) {
        const where = `${topic.metadata.namespace}/${topic.metadata.name}`;
        const user = topicUser(pool, context.knownPools());
        if (user) {
          await events.record(pool, {
            type: "Warning",
            reason: "TopicKept",
            message: `Kept KafkaTopic ${where} despite deletionPolicy Delete: JobWorkerPool ` +
              `${user.metadata.namespace}/${user.metadata.name} uses topic ` +
              `"${pool.spec.kafka.topic.name}" on the same Kafka cluster`,
          });
          continue;
        }
        const deleted = await client.delete(type, {
          namespace: topic.metadata.namespace ?? "",
          name: topic.metadata.name ?? "",
        }, signal);
        if (deleted) {
          await events.record(pool, {
            type: "Normal",
            reason: "TopicDeleted",
            message: `Deleted KafkaTopic ${where} (deletionPolicy Delete)`,
          });
        }
      }
      return;
    } catch (error) {
      if (!isResourceNotServed(error)) throw error;
    }
  }
}

/** The KafkaTopic versions the operator works with (one of them may be not served). */
export const TOPIC_TYPES: readonly ResourceType[] = [
  RESOURCES.kafkaTopicsV1,
  RESOURCES.kafkaTopicsV1beta2,
];

/**
 * Another live pool that uses `pool`'s topic on the same Kafka cluster: the
 * same Strimzi cluster, or a bootstrap server in common.
 */
export function topicUser(
  pool: JobWorkerPool,
  pools: readonly JobWorkerPool[],
): JobWorkerPool | undefined {
  return topicUserOf(pool, pool.spec.kafka.topic.name, pools);
}

/** Another live pool that uses the topic `topicName` on `pool`'s Kafka cluster. */
export function topicUserOf(
  pool: JobWorkerPool,
  topicName: string,
  pools: readonly JobWorkerPool[],
): JobWorkerPool | undefined {
  return pools.find((other) =>
    other.metadata.uid !== pool.metadata.uid && !other.metadata.deletionTimestamp &&
    other.spec.kafka.topic.name === topicName && sameKafkaCluster(pool, other)
  );
}
