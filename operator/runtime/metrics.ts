/**
 * The operator's Prometheus metrics, in a registry of their own.
 *
 * @module
 */

import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** The operator's metrics. */
export interface OperatorMetrics {
  /** The registry `/metrics` serves. */
  registry: Registry;
  /** Reconciles by `result`: `success`, `error`, `requeue`. */
  reconcileTotal: Counter<"result">;
  /** Reconciles that failed (same as `reconcileTotal{result="error"}`, for alerting). */
  reconcileErrors: Counter<string>;
  /** Seconds per reconcile. */
  reconcileDuration: Histogram<string>;
  /** Keys waiting in the work queue. */
  queueDepth: Gauge<string>;
  /** 1 while this replica leads. */
  leader: Gauge<string>;
}

/** Creates the metrics in a fresh registry (so tests can run several operators in one process). */
export function createOperatorMetrics(): OperatorMetrics {
  const registry = new Registry();
  return {
    registry,
    reconcileTotal: new Counter({
      name: "jobpool_operator_reconcile_total",
      help: "Reconciles of JobWorkerPools by result.",
      labelNames: ["result"],
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: "jobpool_operator_reconcile_errors_total",
      help: "Reconciles of JobWorkerPools that failed and were retried with backoff.",
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: "jobpool_operator_reconcile_duration_seconds",
      help: "Time per reconcile of a JobWorkerPool.",
      buckets: [
        0.005,
        0.01,
        0.02,
        0.03,
        0.05,
        0.075,
        0.1,
        0.15,
        0.2,
        0.3,
        0.5,
        0.75,
        1,
        1.5,
        2.5,
        5,
        10,
      ],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: "jobpool_operator_workqueue_depth",
      help: "Keys waiting in the work queue.",
      registers: [registry],
    }),
    leader: new Gauge({
      name: "jobpool_operator_leader",
      help: "1 while this replica holds the leader lease.",
      registers: [registry],
    }),
  };
}
