/**
 * Metrics that go nowhere, for workers started without a registry (tests,
 * benchmarks).
 *
 * @module
 */

import { Registry } from "prom-client";
import type { WorkerMetrics } from "../observability/metrics.ts";

/** A {@linkcode WorkerMetrics} that records nothing. */
export function noopMetrics(): WorkerMetrics {
  const ignore = () => {};
  return {
    registry: new Registry(),
    jobStarted: ignore,
    jobFinished: ignore,
    setPoolSize: ignore,
    setBuffered: ignore,
    setLag: ignore,
    setDependencyUp: ignore,
    dependencyOutage: ignore,
    emailPossibleDuplicate: ignore,
  };
}
