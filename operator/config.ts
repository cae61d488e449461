/**
 * The operator's configuration, read once from the environment in `main.ts`.
 *
 * | Variable | Default | Meaning |
 * | --- | --- | --- |
 * | `KUBECONFIG` | in-cluster | kubeconfig file (first path of a list) |
 * | `KUBERNETES_SERVICE_HOST`, `_PORT` | | the API server, in a cluster |
 * | `OPERATOR_SERVICE_ACCOUNT_DIR` | `/var/run/secrets/kubernetes.io/serviceaccount` | token and CA, in a cluster |
 * | `OPERATOR_KUBE_CONTEXT` | current | kubeconfig context |
 * | `OPERATOR_WATCH_NAMESPACE` | all | only reconcile pools in this namespace |
 * | `OPERATOR_LEASE_NAMESPACE` | `POD_NAMESPACE`, else `default` | namespace of the leader Lease |
 * | `OPERATOR_LEASE_NAME` | `jobpool-operator` | name of the leader Lease |
 * | `OPERATOR_LEASE_DURATION_SECONDS` / `_RENEW_DEADLINE_SECONDS` / `_RETRY_PERIOD_SECONDS` | 15 / 10 / 2 | election timing |
 * | `POD_NAME` | `HOSTNAME` | identity in the Lease (a random suffix is added) |
 * | `OPERATOR_METRICS_PORT` | 8080 | `/metrics`, `/healthz`, `/readyz` |
 * | `OPERATOR_CONCURRENCY` | 4 | reconciles at once |
 * | `OPERATOR_RESYNC_SECONDS` | 300 | full resync period |
 * | `OPERATOR_LAG` | `false` | read each pool's group lag from Kafka into `status.lag`, apart from reconciles |
 * | `OPERATOR_LAG_INTERVAL_SECONDS` | 30 | how often the lag is refreshed |
 * | `LOG_LEVEL`, `LOG_FORMAT` | `info`, `json` | logging |
 *
 * @module
 */

import { type Env, EnvReader } from "../src/config/env_reader.ts";

/** Everything `main.ts` needs. */
export interface OperatorConfig {
  /** `KUBECONFIG` (its first path); in-cluster when unset. */
  kubeconfigPath: string | undefined;
  /** `OPERATOR_KUBE_CONTEXT`. */
  kubeContext: string | undefined;
  /** `KUBERNETES_SERVICE_HOST`/`_PORT`, for the in-cluster connection when KUBECONFIG is unset. */
  inClusterEnv: Record<string, string | undefined>;
  /** Where the service account token and CA are mounted (in a cluster). */
  serviceAccountDir: string;
  /** `OPERATOR_WATCH_NAMESPACE`; all namespaces when unset. */
  watchNamespace: string | undefined;
  /** The leader-election Lease and its timing. */
  lease: {
    namespace: string;
    name: string;
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
  };
  /** This replica's identity in the Lease (host name and a random suffix). */
  identity: string;
  /** `OPERATOR_METRICS_PORT`. */
  metricsPort: number;
  /** `OPERATOR_CONCURRENCY`. */
  concurrency: number;
  /** `OPERATOR_RESYNC_SECONDS`, in milliseconds. */
  resyncPeriodMs: number;
  /** Read each pool's consumer lag from Kafka into `status.lag`. */
  lag: boolean;
  /** `OPERATOR_LAG_INTERVAL_SECONDS`, in milliseconds. */
  lagRefreshMs: number;
  /** `LOG_LEVEL`. */
  logLevel: "debug" | "info" | "warning" | "error";
  /** `LOG_FORMAT`. */
  logFormat: "json" | "pretty";
}

/**
 * Reads the operator's configuration from `env`.
 *
 * @throws {import("../src/config/env_reader.ts").ConfigError} naming every bad variable.
 */
export function loadOperatorConfig(env: Env): OperatorConfig {
  const reader = new EnvReader(env);
  const kubeconfig = reader.optional("KUBECONFIG")?.split(":").find(Boolean);
  const leaseDuration = reader.int("OPERATOR_LEASE_DURATION_SECONDS", 15, { min: 2, max: 600 });
  const renewDeadline = reader.int("OPERATOR_LEASE_RENEW_DEADLINE_SECONDS", 10, {
    min: 1,
    max: 600,
  });
  const retryPeriod = reader.int("OPERATOR_LEASE_RETRY_PERIOD_SECONDS", 2, { min: 1, max: 600 });
  if (!(leaseDuration > renewDeadline && renewDeadline > retryPeriod)) {
    reader.problem(
      "OPERATOR_LEASE_DURATION_SECONDS",
      `must exceed OPERATOR_LEASE_RENEW_DEADLINE_SECONDS, which must exceed ` +
        `OPERATOR_LEASE_RETRY_PERIOD_SECONDS (got ${leaseDuration}, ${renewDeadline}, ${retryPeriod})`,
    );
  }
  const host = reader.optional("POD_NAME") ?? reader.optional("HOSTNAME") ?? "jobpool-operator";
  const config: OperatorConfig = {
    kubeconfigPath: kubeconfig,
    kubeContext: reader.optional("OPERATOR_KUBE_CONTEXT"),
    inClusterEnv: {
      KUBERNETES_SERVICE_HOST: reader.optional("KUBERNETES_SERVICE_HOST"),
      KUBERNETES_SERVICE_PORT: reader.optional("KUBERNETES_SERVICE_PORT"),
    },
    serviceAccountDir: reader.string(
      "OPERATOR_SERVICE_ACCOUNT_DIR",
      "/var/run/secrets/kubernetes.io/serviceaccount",
    ),
    watchNamespace: reader.optional("OPERATOR_WATCH_NAMESPACE"),
    lease: {
      namespace: reader.optional("OPERATOR_LEASE_NAMESPACE") ??
        reader.string("POD_NAMESPACE", "default"),
      name: reader.string("OPERATOR_LEASE_NAME", "jobpool-operator"),
      leaseDurationMs: leaseDuration * 1000,
      renewDeadlineMs: renewDeadline * 1000,
      retryPeriodMs: retryPeriod * 1000,
    },
    identity: `${host}_${crypto.randomUUID().slice(0, 8)}`,
    metricsPort: reader.int("OPERATOR_METRICS_PORT", 8080, { min: 0, max: 65535 }),
    concurrency: reader.int("OPERATOR_CONCURRENCY", 4, { min: 1, max: 64 }),
    resyncPeriodMs: reader.int("OPERATOR_RESYNC_SECONDS", 300, { min: 10, max: 86400 }) * 1000,
    lag: reader.bool("OPERATOR_LAG", false),
    lagRefreshMs: reader.int("OPERATOR_LAG_INTERVAL_SECONDS", 30, { min: 5, max: 3600 }) * 1000,
    logLevel: reader.oneOf("LOG_LEVEL", ["debug", "info", "warning", "error"] as const, "info"),
    logFormat: reader.oneOf("LOG_FORMAT", ["json", "pretty"] as const, "json"),
  };
  reader.done();
  return config;
}
