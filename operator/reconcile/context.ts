/**
 * What the reconcile steps share: the API client, the Event recorder and the
 * informer caches (a subset of `PoolReconcilerOptions`).
 *
 * @module
 */

import type { JobWorkerPool } from "../api/mod.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { KubeClient } from "../runtime/kube_client.ts";
import type { ResourceType } from "../runtime/resources.ts";
import type { KubeObject } from "../runtime/object.ts";

/** The API access and caches one reconcile step works with. */
export interface ReconcileContext {
  /** The API client. */
  client: KubeClient;
  /** Where Events go. */
  events: EventRecorder;
  /** The pools known to the informer cache. */
  knownPools: () => JobWorkerPool[];
  /** Cached objects by type and `namespace/name` (the informers), to skip reads. */
  cache?: ((type: ResourceType, key: string) => KubeObject | undefined) | undefined;
}
