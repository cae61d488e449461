/**
 * An informer: lists a resource type, then watches it from the list's
 * resourceVersion, keeping a cache of the objects and telling a handler about
 * every change. It lists again when the watch ends with 410 Gone (the
 * resourceVersion expired), after any error (with a backoff), and when the
 * watch stays silent longer than the watchdog allows (bookmarks count as
 * traffic, so a healthy idle watch is not restarted).
 *
 * @module
 */

import { logger } from "../../src/observability/logging.ts";
import { type Clock, sleep, systemClock } from "./clock.ts";
import { isApiError, isResourceNotServed, KubeApiError, type KubeClient } from "./kube_client.ts";
import { objectKey, type ResourceType } from "./resources.ts";
import type { KubeObject } from "./object.ts";

/** What happened to an object. */
export type InformerEventType = "added" | "updated" | "deleted";

/**
 * Called for every change; `object` is the new state (the last known one for
 * `deleted`), `old` the cached state an update replaced.
 */
export type InformerHandler = (
  type: InformerEventType,
  object: KubeObject,
  old?: KubeObject,
) => void;

/** Options of {@linkcode Informer}. */
export interface InformerOptions {
  /** The API client. */
  client: KubeClient;
  /** The resource type to keep in sync. */
  type: ResourceType;
  /** Only this namespace; all namespaces when unset. */
  namespace?: string | undefined;
  /** Only objects matching this label selector. */
  labelSelector?: string | undefined;
  /** Told about every change (also for objects found by a re-list). */
  onEvent: InformerHandler;
  /** Restart a watch that delivered nothing (not even a bookmark) for this long. @default 90000 */
  watchdogMs?: number;
  /** Server-side watch timeout. @default 300 */
  watchTimeoutSeconds?: number;
  /** First delay after an error; doubles up to `maxBackoffMs`. @default 500 */
  baseBackoffMs?: number;
  /** @default 30000 */
  /** Longest backoff between attempts. */
  maxBackoffMs?: number;
  /** Time source; default the system clock. */
  clock?: Clock;
  /**
   * Slims objects before they are cached and handed out; default
   * {@linkcode slimObject} (drops managedFields and kubectl's last-applied annotation).
   */
  transform?: (object: KubeObject) => KubeObject;
  /**
   * Called when a list succeeds after failing, e.g. once a missing CRD is
   * installed, so that dependants can react to the change.
   */
  onRecovered?: () => void;
}

/** `object` without `metadata.managedFields` and the last-applied annotation, which nothing reads from the cache. */
export function slimObject(object: KubeObject): KubeObject {
  const { managedFields: _managed, ...metadata } = object.metadata;
  const annotations = metadata.annotations;
  if (annotations && LAST_APPLIED in annotations) {
    const { [LAST_APPLIED]: _last, ...rest } = annotations;
    metadata.annotations = rest;
  }
  return { ...object, metadata };
}

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

const log = logger("operator", "informer");

/** Keeps a cache of one resource type in sync with the API server. */
export class Informer {
  readonly #options: InformerOptions;
  readonly #clock: Clock;
  readonly #cache = new Map<string, KubeObject>();
  #synced = false;
  #syncedWaiters: Array<() => void> = [];
  #lastError: unknown;
  #relists = 0;

  /** An informer; call {@linkcode Informer.run} to start it. */
  constructor(options: InformerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** Whether the first list has completed. */
  get hasSynced(): boolean {
    return this.#synced;
  }

  /** How often the informer listed (1 after a healthy start). */
  get listCount(): number {
    return this.#relists;
  }

  /** The last error that broke a list or watch, if any. */
  get lastError(): unknown {
    return this.#lastError;
  }

  /** The cached object at `namespace/name`. */
  get(key: string): KubeObject | undefined {
    return this.#cache.get(key);
  }

  /** Every cached object. */
  list(): KubeObject[] {
    return [...this.#cache.values()];
  }

  /** Resolves once the first list has completed (or `signal` aborts). */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.#syncedWaiters.push(resolve);
      signal?.addEventListener("abort", () => resolve(), { once: true });
    });
  }

  /** Lists and watches until `signal` aborts; never throws for API errors. */
  async run(signal: AbortSignal): Promise<void> {
    const { type } = this.#options;
    const base = this.#options.baseBackoffMs ?? 500;
    const max = this.#options.maxBackoffMs ?? 30_000;
    let failures = 0;
    while (!signal.aborted) {
      try {
        let resourceVersion: string | undefined = await this.#relist(signal);
        if (failures > 0) this.#options.onRecovered?.();
        failures = 0;
        // A watch the server ends normally (its timeout) resumes from the last
        // version seen (bookmarks keep it recent); a silent one lists again.
        while (resourceVersion !== undefined && !signal.aborted) {
          resourceVersion = await this.#watch(resourceVersion, signal);
        }
      } catch (error) {
        if (signal.aborted) break;
        this.#lastError = error;
        if (isApiError(error, 410)) {
          log.debug("Watch of {plural} expired (410 Gone); listing again", {
            plural: type.plural,
          });
          continue;
        }
        failures++;
        const delay = Math.min(max, base * 2 ** (failures - 1));
        const details = {
          plural: type.plural,
          delay,
          error: error instanceof Error ? error.message : String(error),
        };
        if (isResourceNotServed(error)) {
          // A CRD that is not installed is a steady state: say so once, then quietly.
          if (failures === 1) {
            log.info("{plural} are not served (CRD not installed?); checking again later", details);
          } else log.debug("{plural} are still not served", details);
        } else {
          log.warn("List/watch of {plural} failed, retrying in {delay} ms: {error}", details);
        }
        try {
          await sleep(this.#clock, delay, signal);
        } catch {
          break;
        }
      }
    }
  }

  async #relist(signal: AbortSignal): Promise<string> {
    const { client, type, namespace, labelSelector, onEvent } = this.#options;
    const list = await client.list(type, { namespace, labelSelector, signal });
    this.#relists++;
    const seen = new Set<string>();
    const transform = this.#options.transform ?? slimObject;
    for (const item of list.items) {
      const object = transform(item);
      const key = objectKey(object);
      seen.add(key);
      const old = this.#cache.get(key);
      this.#cache.set(key, object);
      if (!old) onEvent("added", object);
      else if (old.metadata.resourceVersion !== object.metadata.resourceVersion) {
        onEvent("updated", object, old);
      }
    }
    for (const [key, object] of [...this.#cache]) {
      if (seen.has(key)) continue;
      this.#cache.delete(key);
      onEvent("deleted", object);
    }
    if (!this.#synced) {
      this.#synced = true;
      for (const resolve of this.#syncedWaiters.splice(0)) resolve();
    }
    return list.resourceVersion;
  }

  /** Watches from `resourceVersion`; returns the last version seen, or `undefined` after a silent watch. */
  async #watch(resourceVersion: string, outer: AbortSignal): Promise<string | undefined> {
    let last = resourceVersion;
    const { client, type, namespace, labelSelector, onEvent } = this.#options;
    const watchdogMs = this.#options.watchdogMs ?? 90_000;
    const controller = new AbortController();
    const abort = () => controller.abort(outer.reason);
    outer.addEventListener("abort", abort, { once: true });
    let silent = false;
    let cancelWatchdog = () => {};
    const armWatchdog = () => {
      cancelWatchdog();
      cancelWatchdog = this.#clock.setTimer(() => {
        silent = true;
        controller.abort(new Error("watch silent"));
      }, watchdogMs);
    };
    armWatchdog();
    try {
      const events = client.watch(type, {
        namespace,
        labelSelector,
        resourceVersion,
        timeoutSeconds: this.#options.watchTimeoutSeconds ?? 300,
        signal: controller.signal,
      });
      for await (const event of events) {
        armWatchdog();
        const version = event.object?.metadata?.resourceVersion;
        if (event.type !== "ERROR" && version) last = version;
        if (event.type === "BOOKMARK") continue;
        if (event.type === "ERROR") {
          // The object of an ERROR event is a metav1.Status.
          const { code, message } = event.object;
          throw new KubeApiError(`Watching ${type.plural}`, {
            code: typeof code === "number" ? code : 500,
            message: typeof message === "string" ? message : "watch error",
          });
        }
        const object = (this.#options.transform ?? slimObject)(event.object);
        const key = objectKey(object);
        if (event.type === "DELETED") {
          this.#cache.delete(key);
          onEvent("deleted", object);
        } else {
          const old = this.#cache.get(key);
          this.#cache.set(key, object);
          if (old) onEvent("updated", object, old);
          else onEvent("added", object);
        }
      }
      return last;
    } catch (error) {
      if (silent && !outer.aborted) {
        log.info("Watch of {plural} was silent for {ms} ms; restarting it", {
          plural: type.plural,
          ms: watchdogMs,
        });
        return undefined;
      }
      throw error;
    } finally {
      cancelWatchdog();
      outer.removeEventListener("abort", abort);
    }
  }
}
