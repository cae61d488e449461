/**
 * Deleting objects the pool owns and no longer wants (a stale
 * TriggerAuthentication, the scaler with `scaling.mode: none`, the workers of
 * a pool that lost its consumer group). Objects it does not own are left alone.
 *
 * @module
 */

import type { JobWorkerPool } from "../api/mod.ts";
import { isResourceNotServed } from "../runtime/kube_client.ts";
import type { KubeObject } from "../runtime/object.ts";
import type { ResourceType } from "../runtime/resources.ts";
import type { ReconcileContext } from "./context.ts";

/**
 * Deletes the pool's `type` object `name` when the pool owns it; returns the
 * deleted object. The cache, when there is one, spares the read of an object
 * that is gone.
 */
export async function deleteOwned(
  context: ReconcileContext,
  pool: JobWorkerPool,
  type: ResourceType,
  name: string,
  signal: AbortSignal,
): Promise<KubeObject | undefined> {
  const { client, cache } = context;
  const key = { namespace: pool.metadata.namespace ?? "", name };
  if (cache && !cache(type, `${key.namespace}/${key.name}`)) return undefined;
  try {
    const existing = await client.get(type, key, signal);
    if (!existing?.metadata.ownerReferences?.some((r) => r.uid === pool.metadata.uid)) {
      return undefined;
    }
    return await client.delete(type, key, signal) ? existing : undefined;
  } catch (error) {
    if (isResourceNotServed(error)) return undefined;
    throw error;
  }
}
