/**
 * The operator runtime, after controller-runtime: Kubernetes access
 * (server-side apply, status, watch), informers, a work queue, the controller
 * loop, leader election, Events and metrics. Nothing here knows JobWorkerPools.
 *
 * @module
 */

export { type Clock, FakeClock, kubeTime, sleep, systemClock } from "./clock.ts";
export {
  type ControllerOptions,
  type Reconciler,
  type ReconcileResult,
  runController,
} from "./controller.ts";
export { type EventInput, EventRecorder, type EventRecorderOptions } from "./events.ts";
export {
  Informer,
  type InformerEventType,
  type InformerHandler,
  type InformerOptions,
  slimObject,
} from "./informer.ts";
export { HttpKubeClient } from "./http_kube_client.ts";
export {
  type ApplyOptions,
  FIELD_MANAGER,
  isApiError,
  isResourceNotServed,
  KubeApiError,
  type KubeClient,
  type ListOptions,
  type ObjectList,
  type WatchEvent,
  type WatchOptions,
} from "./kube_client.ts";
export {
  type KubeConnection,
  loadKubeConnection,
  type LoadKubeConnectionOptions,
} from "./kube_config.ts";
export { KubeLeaseStore, type KubeLeaseStoreOptions } from "./kube_lease_store.ts";
export {
  type LeaderElectionTiming,
  LeaderElector,
  type LeaderElectorOptions,
  LeaseConflictError,
  type LeaseRecord,
  type LeaseStore,
  microTime,
  type StoredLease,
} from "./leader_election.ts";
export { createOperatorMetrics, type OperatorMetrics } from "./metrics.ts";
export type { KubeObject, Manifest, ObjectMeta, OwnerReference } from "./object.ts";
export {
  apiVersionOf,
  objectKey,
  resourcePath,
  type ResourcePathOptions,
  RESOURCES,
  type ResourceType,
  resourceTypeOf,
  splitKey,
} from "./resources.ts";
export { WorkQueue, type WorkQueueOptions } from "./work_queue.ts";
