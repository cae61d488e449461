/**
 * Kubernetes API access as the operator needs it: {@linkcode KubeClient}
 * (get, list, watch, server-side apply, status, merge patch, delete, create,
 * replace) and the errors it throws. `http_kube_client.ts` implements it over
 * HTTPS; tests use in-memory fakes.
 *
 * @module
 */

import type { ResourceType } from "./resources.ts";
import type { KubeObject } from "./object.ts";

/** The field manager under which the operator applies everything. */
export const FIELD_MANAGER = "jobpool-operator";

/** One change seen by a watch. */
export interface WatchEvent {
  /** What happened. */
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  /** The object (a `Status` for `ERROR`). */
  object: KubeObject;
}

/** A page of objects and the collection's resourceVersion. */
export interface ObjectList {
  /** The objects, with apiVersion and kind filled in. */
  items: KubeObject[];
  /** The version to start a watch from. */
  resourceVersion: string;
}

/** Options of {@linkcode KubeClient.list}. */
export interface ListOptions {
  /** Only this namespace; all namespaces when unset. */
  namespace?: string | undefined;
  /** A label selector, e.g. `app=x` or `key` (exists). */
  labelSelector?: string | undefined;
  /** Aborts the request. */
  signal?: AbortSignal | undefined;
}

/** Options of {@linkcode KubeClient.watch}. */
export interface WatchOptions extends ListOptions {
  /** Changes after this version are streamed. */
  resourceVersion: string;
  /** Server-side timeout of the watch request. */
  timeoutSeconds?: number | undefined;
}

/** Options of {@linkcode KubeClient.apply}. */
export interface ApplyOptions {
  /** `status` to apply the status subresource. */
  subresource?: "status" | undefined;
  /** Field manager; default {@linkcode FIELD_MANAGER}. */
  fieldManager?: string | undefined;
  /** Aborts the request. */
  signal?: AbortSignal | undefined;
}

/** What the operator needs from the Kubernetes API. */
export interface KubeClient {
  /** The object, or `undefined` when it does not exist (404). */
  get(
    type: ResourceType,
    key: { namespace?: string; name: string },
    signal?: AbortSignal,
  ): Promise<KubeObject | undefined>;
  /** All objects of `type` matching the options. */
  list(type: ResourceType, options?: ListOptions): Promise<ObjectList>;
  /** The changes after `options.resourceVersion` until the server or `signal` ends the watch. */
  watch(type: ResourceType, options: WatchOptions): AsyncIterable<WatchEvent>;
  /** Server-side apply (`force: true`) of `object`, which carries apiVersion, kind, name, namespace. */
  apply(type: ResourceType, object: KubeObject, options?: ApplyOptions): Promise<KubeObject>;
  /** JSON merge patch of an object (e.g. finalizers, with `resourceVersion` for optimistic locking). */
  mergePatch(
    type: ResourceType,
    key: { namespace?: string; name: string },
    patch: unknown,
    signal?: AbortSignal,
  ): Promise<KubeObject>;
  /** Creates `object`. */
  create(type: ResourceType, object: KubeObject, signal?: AbortSignal): Promise<KubeObject>;
  /** Replaces `object` (PUT; its resourceVersion makes it conditional). */
  replace(type: ResourceType, object: KubeObject, signal?: AbortSignal): Promise<KubeObject>;
  /** Deletes an object; `false` when it was already gone. */
  delete(
    type: ResourceType,
    key: { namespace?: string; name: string },
    signal?: AbortSignal,
  ): Promise<boolean>;
  /** The versions the API server serves of API group `group` (discovery); none when it serves none. */
  servedVersions(group: string, signal?: AbortSignal): Promise<string[]>;
}

/** The API server answered with an error status. */
export class KubeApiError extends Error {
  /** HTTP status code, e.g. 404, 409, 410, 422. */
  readonly code: number;
  /** The `reason` of the returned `Status`, e.g. `NotFound`, `Conflict`, `Invalid`, `Expired`. */
  readonly reason: string;
  /** The `details` of the returned `Status`, when any. */
  readonly details: Record<string, unknown> | undefined;

  /** `what` names the failed call; `status` is the API server's `Status`. */
  constructor(
    what: string,
    status: { code: number; reason?: string; message?: string; details?: Record<string, unknown> },
  ) {
    super(`${what} failed (${status.code} ${status.reason ?? ""}): ${status.message ?? ""}`.trim());
    this.name = "KubeApiError";
    this.code = status.code;
    this.reason = status.reason ?? "";
    this.details = status.details;
  }
}

/** Whether `error` is a {@linkcode KubeApiError} with HTTP status `code`. */
export function isApiError(error: unknown, code: number): error is KubeApiError {
  return error instanceof KubeApiError && error.code === code;
}

/**
 * Whether a 404 means "the resource type is not served" (a CRD is not
 * installed) rather than "no such object": the Status then names no object.
 */
export function isResourceNotServed(error: unknown): boolean {
  if (!isApiError(error, 404)) return false;
  const details = error.details;
  return !details || (details["name"] === undefined && details["kind"] === undefined);
}
