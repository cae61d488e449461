/**
 * {@linkcode KubeLeaseStore}: the {@linkcode LeaseStore} of leader election on
 * a real `coordination.k8s.io/v1` Lease, with write conflicts as
 * {@linkcode LeaseConflictError}.
 *
 * @module
 */

import { isApiError, type KubeClient } from "./kube_client.ts";
import {
  LeaseConflictError,
  type LeaseRecord,
  type LeaseStore,
  type StoredLease,
} from "./leader_election.ts";
import type { KubeObject } from "./object.ts";
import { RESOURCES } from "./resources.ts";

/** Options of {@linkcode KubeLeaseStore}. */
export interface KubeLeaseStoreOptions {
  /** The API client. */
  client: KubeClient;
  /** The Lease's namespace. */
  namespace: string;
  /** The Lease's name. */
  name: string;
}

/** A {@linkcode LeaseStore} on a real `coordination.k8s.io/v1` Lease. */
export class KubeLeaseStore implements LeaseStore {
  readonly #options: KubeLeaseStoreOptions;

  /** A store for the Lease `options.namespace/options.name`. */
  constructor(options: KubeLeaseStoreOptions) {
    this.#options = options;
  }

  /** Reads the Lease. */
  async get(signal?: AbortSignal): Promise<StoredLease | undefined> {
    const { client, namespace, name } = this.#options;
    const lease = await client.get(RESOURCES.leases, { namespace, name }, signal);
    return lease ? toStored(lease) : undefined;
  }

  /** Creates the Lease; a 409 becomes a {@linkcode LeaseConflictError}. */
  async create(record: LeaseRecord, signal?: AbortSignal): Promise<StoredLease> {
    const { client, namespace, name } = this.#options;
    try {
      const created = await client.create(
        RESOURCES.leases,
        { metadata: { name, namespace }, spec: record },
        signal,
      );
      return toStored(created);
    } catch (error) {
      if (isApiError(error, 409)) throw new LeaseConflictError(error.message);
      throw error;
    }
  }

  /** Replaces the Lease (PUT); a 409 becomes a {@linkcode LeaseConflictError}. */
  async update(
    record: LeaseRecord,
    resourceVersion: string,
    signal?: AbortSignal,
  ): Promise<StoredLease> {
    const { client, namespace, name } = this.#options;
    try {
      const replaced = await client.replace(
        RESOURCES.leases,
        { metadata: { name, namespace, resourceVersion }, spec: record },
        signal,
      );
      return toStored(replaced);
    } catch (error) {
      if (isApiError(error, 409)) throw new LeaseConflictError(error.message);
      throw error;
    }
  }
}

function toStored(lease: KubeObject): StoredLease {
  const spec = (lease["spec"] ?? {}) as Partial<LeaseRecord>;
  return {
    resourceVersion: lease.metadata.resourceVersion ?? "",
    record: {
      holderIdentity: spec.holderIdentity ?? "",
      leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
      acquireTime: spec.acquireTime ?? "",
      renewTime: spec.renewTime ?? "",
      leaseTransitions: spec.leaseTransitions ?? 0,
    },
  };
}
