/**
 * Stand-ins for the controllers the test API server does not run: they write
 * the status that kube-controller-manager (Deployments), KEDA (ScaledObjects)
 * and the Strimzi topic operator (KafkaTopics) write for healthy objects, so
 * that a pool can become `Ready`. They only fill in a status that is missing,
 * so a test can still write a failing one (e.g. KEDA's `TriggerError`) and
 * see the operator react. Real KEDA and kube-controller-manager are exercised
 * by the scaling tests; these stand in for them in the operator's own tests.
 *
 * @module
 */

import {
  type HttpKubeClient,
  type KubeObject,
  RESOURCES,
  type ResourceType,
} from "../../operator/runtime/mod.ts";

/** The field manager the stand-ins write status under. */
export const STAND_IN_MANAGER = "test-controller-stand-in";

/** Running stand-ins; `stop` ends them. */
export interface StandIns {
  stop(): Promise<void>;
}

/** KEDA's messages for the conditions the tests write. */
const KEDA_MESSAGES: Record<string, string> = {
  ScaledObjectReady: "ScaledObject is defined correctly and is ready for scaling",
  TriggerError: "Triggers defined in ScaledObject are not working correctly",
  NoFallbackFound: "No fallbacks are active on this scaled object",
  FallbackExists: "At least one trigger is falling back on this scaled object",
};

/** A ScaledObject condition as KEDA writes it (its schema has no transition time). */
export function kedaCondition(
  type: string,
  status: "True" | "False" | "Unknown",
  reason: string,
): Record<string, string> {
  return { type, status, reason, message: KEDA_MESSAGES[reason] ?? reason };
}

/** The healthy status each stand-in writes for `object`. */
function healthyStatus(type: ResourceType, object: KubeObject): Record<string, unknown> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const condition = (type: string, reason: string, message: string) => ({
    type,
    status: "True",
    reason,
    message,
    lastTransitionTime: now,
  });
  if (type.kind === "Deployment") {
    const replicas = (object["spec"] as { replicas?: number } | undefined)?.replicas ?? 1;
    return {
      observedGeneration: object.metadata.generation,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
      conditions: [
        {
          ...condition(
            "Available",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
          ),
          lastUpdateTime: now,
        },
      ],
    };
  }
  if (type.kind === "ScaledObject") {
    return {
      conditions: [
        kedaCondition("Ready", "True", "ScaledObjectReady"),
        kedaCondition("Fallback", "False", "NoFallbackFound"),
      ],
    };
  }
  return {
    observedGeneration: object.metadata.generation,
    conditions: [{ type: "Ready", status: "True", lastTransitionTime: now }],
  };
}

/** Writes `status` onto `object` through its `/status` subresource, as the stand-in manager. */
export async function writeStatus(
  client: HttpKubeClient,
  type: ResourceType,
  object: KubeObject,
  status: Record<string, unknown>,
): Promise<void> {
  await client.apply(type, {
    apiVersion: object.apiVersion ?? `${type.group}/${type.version}`,
    kind: type.kind,
    metadata: { name: object.metadata.name ?? "", namespace: object.metadata.namespace ?? "" },
    status,
  }, { subresource: "status", fieldManager: STAND_IN_MANAGER });
}

/**
 * Starts stand-ins for the objects in `namespaces` (KafkaTopics may live in
 * the Kafka cluster's namespace): every 200 ms, an object without status
 * conditions gets a healthy status.
 */
export function startStandIns(client: HttpKubeClient, namespaces: string[]): StandIns {
  const stopping = new AbortController();
  const types = [
    RESOURCES.deployments,
    RESOURCES.scaledObjects,
    RESOURCES.kafkaTopicsV1,
    RESOURCES.kafkaTopicsV1beta2,
  ];
  const pass = async () => {
    for (const namespace of namespaces) {
      for (const type of types) {
        const list = await client.list(type, { namespace, signal: stopping.signal })
          .catch(() => ({ items: [] as KubeObject[] }));
        for (const object of list.items) {
          const status = object["status"] as { conditions?: unknown[] } | undefined;
          if ((status?.conditions?.length ?? 0) > 0) continue;
          await writeStatus(client, type, object, healthyStatus(type, object)).catch(() => {});
        }
      }
    }
  };
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      await pass().catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  return {
    async stop() {
      stopping.abort();
      await loop;
    },
  };
}
