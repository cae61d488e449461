/**
 * Kubernetes Events about the objects the operator manages (`kubectl
 * describe` shows them). Recording never throws: an Event that cannot be
 * written is logged. The same reason and message for the same object is
 * written at most once per `dedupeWindowMs`.
 *
 * @module
 */

import { logger } from "../../src/observability/logging.ts";
import { type Clock, kubeTime, systemClock } from "./clock.ts";
import type { KubeClient } from "./kube_client.ts";
import { RESOURCES } from "./resources.ts";
import type { KubeObject } from "./object.ts";
import { microTime } from "./leader_election.ts";

/** One Event to record. */
export interface EventInput {
  /** `Warning` for problems, `Normal` for notable actions. */
  type: "Normal" | "Warning";
  /** CamelCase, e.g. `ReconcileFailed`. */
  reason: string;
  /** What a person should know. */
  message: string;
}

/** Options of {@linkcode EventRecorder}. */
export interface EventRecorderOptions {
  /** The API client. */
  client: KubeClient;
  /** `source.component` and `reportingController`, e.g. `jobpool-operator`. */
  component: string;
  /** `reportingInstance`, e.g. the pod name. */
  instance: string;
  /** @default 600000 (10 minutes) */
  /** Window in which the same Event is written once. */
  dedupeWindowMs?: number;
  /** Time source; default the system clock. */
  clock?: Clock;
}

const log = logger("operator", "events");

/** Writes core/v1 Events about objects. */
export class EventRecorder {
  readonly #options: EventRecorderOptions;
  readonly #clock: Clock;
  readonly #recent = new Map<string, number>();

  /** A recorder writing through `options.client`. */
  constructor(options: EventRecorderOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** Records `event` about `object` (which carries apiVersion, kind, name, namespace, uid). */
  async record(object: KubeObject, event: EventInput): Promise<void> {
    const { namespace, name, uid } = object.metadata;
    if (!namespace || !name) return;
    const now = this.#clock.now();
    const window = this.#options.dedupeWindowMs ?? 600_000;
    const dedupeKey = `${uid}\n${event.reason}\n${event.message}`;
    const last = this.#recent.get(dedupeKey);
    if (last !== undefined && now - last < window) return;
    this.#recent.set(dedupeKey, now);
    if (this.#recent.size > 10_000) {
      for (const [key, at] of this.#recent) if (now - at >= window) this.#recent.delete(key);
    }
    const time = kubeTime(now);
    try {
      await this.#options.client.create(RESOURCES.events, {
        metadata: { namespace, generateName: `${name}.` },
        involvedObject: {
          apiVersion: object.apiVersion,
          kind: object.kind,
          name,
          namespace,
          uid,
          resourceVersion: object.metadata.resourceVersion,
        },
        type: event.type,
        reason: event.reason,
        message: event.message.slice(0, 1024),
        source: { component: this.#options.component },
        reportingComponent: this.#options.component,
        reportingInstance: this.#options.instance,
        action: "Reconcile",
        firstTimestamp: time,
        lastTimestamp: time,
        eventTime: microTime(now),
        count: 1,
      });
    } catch (error) {
      log.warn("Cannot record event {reason} for {namespace}/{name}: {error}", {
        reason: event.reason,
        namespace,
        name,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
