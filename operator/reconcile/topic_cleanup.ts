/**
 * Deleting a deleted pool's KafkaTopics (deletionPolicy Delete), except one
 * another live pool still uses on the same Kafka cluster.
 *
 * @module
 */

import type { JobWorkerPool } from "../api/mod.ts";
import { kafkaTopicNamespace, LABELS } from "../synth/names.ts";
import { isResourceNotServed } from "../runtime/kube_client.ts";
import { RESOURCES } from "../runtime/resources.ts";
import type { ReconcileContext } from "./context.ts";
import { poolObject } from "./pool_resource.ts";

/** Deletes the KafkaTopics made for `pool`, except one another live pool still uses. */
export async function deleteTopics(
  context: ReconcileContext,
  pool: JobWorkerPool,
  signal: AbortSignal,
): Promise<void> {
  const { client, events } = context;
  const preferred = pool.spec.topicProvisioning.strimzi?.apiVersion === "v1beta2"
    ? [RESOURCES.kafkaTopicsV1beta2, RESOURCES.kafkaTopicsV1]
    : [RESOURCES.kafkaTopicsV1, RESOURCES.kafkaTopicsV1beta2];
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
          await events.record(poolObject(pool), {
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
          await events.record(poolObject(pool), {
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

/**
 * Another live pool that uses `pool`'s topic on the same Kafka cluster: the
 * same Strimzi cluster, or a bootstrap server in common.
 */
export function topicUser(
  pool: JobWorkerPool,
  pools: readonly JobWorkerPool[],
): JobWorkerPool | undefined {
  const servers = new Set(pool.spec.kafka.bootstrapServers);
  const cluster = (p: JobWorkerPool) =>
    p.spec.topicProvisioning.mode === "strimzi" && p.spec.topicProvisioning.strimzi
      ? `${kafkaTopicNamespace(p)}/${p.spec.topicProvisioning.strimzi.clusterName}`
      : undefined;
  return pools.find((other) =>
    other.metadata.uid !== pool.metadata.uid && !other.metadata.deletionTimestamp &&
    other.spec.kafka.topic.name === pool.spec.kafka.topic.name &&
    ((cluster(other) !== undefined && cluster(other) === cluster(pool)) ||
      other.spec.kafka.bootstrapServers.some((server) => servers.has(server)))
  );
}
