/**
 * KafkaTopics a live pool left behind when its topic changed (renamed, moved
 * to another Strimzi namespace, or no longer provisioned): the pool's
 * deletion policy applies to them as if the pool had gone. `Delete` deletes
 * one no other live pool uses; otherwise it is kept and released (its
 * `jobpool.dev/pool-uid` label removed, so any pool that wants it may adopt
 * it). Either way an Event says what happened.
 *
 * @module
 */

import type { JobWorkerPool } from "../api/mod.ts";
import { LABELS } from "../synth/names.ts";
import { isResourceNotServed } from "../runtime/kube_client.ts";
import { type ResourceType } from "../runtime/resources.ts";
import type { KubeObject } from "../runtime/object.ts";
import type { ReconcileContext } from "./context.ts";
import { TOPIC_TYPES, topicUserOf } from "./topic_cleanup.ts";

/** Applies the pool's deletion policy to its KafkaTopics other than `desired`. */
export async function releaseLeftoverTopics(
  context: ReconcileContext,
  { pool, desired }: { pool: JobWorkerPool; desired: KubeObject | undefined },
  signal: AbortSignal,
): Promise<void> {
  if (!pool.metadata.uid) return;
  for (const type of TOPIC_TYPES) {
    let topics: KubeObject[];
    try {
      topics = (await context.client.list(type, {
        labelSelector: `${LABELS.poolUid}=${pool.metadata.uid}`,
        signal,
      })).items;
    } catch (error) {
      if (isResourceNotServed(error)) continue;
      throw error;
    }
    for (const topic of topics) {
      if (desired && sameObject(topic, desired)) continue;
      await leftBehind(context, { pool, type, topic, desired }, signal);
    }
  }
}

async function leftBehind(
  context: ReconcileContext,
  input: {
    pool: JobWorkerPool;
    type: ResourceType;
    topic: KubeObject;
    desired: KubeObject | undefined;
  },
  signal: AbortSignal,
): Promise<void> {
  const { pool, type, topic, desired } = input;
  const where = `${topic.metadata.namespace}/${topic.metadata.name}`;
  const now = desired
    ? `now uses KafkaTopic ${desired.metadata.namespace}/${desired.metadata.name}`
    : "no longer provisions its topic";
  const key = { namespace: topic.metadata.namespace ?? "", name: topic.metadata.name ?? "" };
  const policy = pool.spec.topicProvisioning.strimzi?.deletionPolicy ?? "Retain";
  const topicName = (topic["spec"] as { topicName?: string } | undefined)?.topicName ??
    topic.metadata.name ?? "";
  const user = topicUserOf(pool, topicName, context.knownPools());
  if (policy === "Delete" && !user) {
    if (await context.client.delete(type, key, signal)) {
      await context.events.record(pool, {
        type: "Normal",
        reason: "TopicDeleted",
        message: `Deleted KafkaTopic ${where}: the pool ${now} (deletionPolicy Delete)`,
      });
    }
    return;
  }
  await context.client.mergePatch(type, key, {
    metadata: { labels: { [LABELS.poolUid]: null } },
  }, signal);
  const why = user
    ? `JobWorkerPool ${user.metadata.namespace}/${user.metadata.name} uses topic "${topicName}"`
    : "deletionPolicy Retain";
  await context.events.record(pool, {
    type: "Warning",
    reason: "TopicLeftBehind",
    message: `KafkaTopic ${where} is kept (${why}) and released: the pool ${now}. Its ` +
      "unprocessed jobs stay in the topic; delete the KafkaTopic yourself if they are not needed",
  });
}

function sameObject(a: KubeObject, b: KubeObject): boolean {
  return a.metadata.namespace === b.metadata.namespace && a.metadata.name === b.metadata.name;
}
