/**
 * What integration tests read to find the real services that `test/run.ts`
 * started for them. A test that needs a service which is not running fails
 * with a message saying how to run it; it never skips.
 *
 * @module
 */

/** Environment variables through which the runner hands services to tests. */
export const SERVICE_VARIABLES = {
  kafkaBrokers: "JOBPOOL_TEST_KAFKA_BROKERS",
  kafkaVersion: "JOBPOOL_TEST_KAFKA_VERSION",
  kafkaSaslBrokers: "JOBPOOL_TEST_KAFKA_SASL_BROKERS",
  kafkaSaslUser: "JOBPOOL_TEST_KAFKA_SASL_USER",
  kafkaSaslPassword: "JOBPOOL_TEST_KAFKA_SASL_PASSWORD",
  kafkaTlsBrokers: "JOBPOOL_TEST_KAFKA_TLS_BROKERS",
  kafkaTlsCa: "JOBPOOL_TEST_KAFKA_TLS_CA",
  databaseUrl: "JOBPOOL_TEST_DATABASE_URL",
  redisUrl: "JOBPOOL_TEST_REDIS_URL",
  kubeconfig: "JOBPOOL_TEST_KUBECONFIG",
  kubeServer: "JOBPOOL_TEST_KUBE_SERVER",
  kubeToken: "JOBPOOL_TEST_KUBE_TOKEN",
  kubectl: "JOBPOOL_TEST_KUBECTL",
  helm: "JOBPOOL_TEST_HELM",
  crdDir: "JOBPOOL_TEST_CRD_DIR",
  kedaVersion: "JOBPOOL_TEST_KEDA_VERSION",
  kedaMetricsUrl: "JOBPOOL_TEST_KEDA_METRICS_URL",
  hpaSyncSeconds: "JOBPOOL_TEST_HPA_SYNC_SECONDS",
  hpaDownscaleStabilizationSeconds: "JOBPOOL_TEST_HPA_DOWNSCALE_STABILIZATION_SECONDS",
} as const;

/** A service of the test environment is not available to this test. */
export class ServiceMissingError extends Error {
  constructor(service: string, variable: string) {
    super(
      `Test service "${service}" is not running (${variable} is unset): run the tests with ` +
        "'deno task test', which starts Kafka, PostgreSQL, Redis and the Kubernetes API for them " +
        "(and KEDA and kube-controller-manager for scaling_*_test.ts files)",
    );
    this.name = "ServiceMissingError";
  }
}

function need(service: string, variable: string): string {
  const value = Deno.env.get(variable);
  if (!value) throw new ServiceMissingError(service, variable);
  return value;
}

/** The real Kafka broker's bootstrap servers. */
export function kafkaBrokers(): string[] {
  return need("kafka", SERVICE_VARIABLES.kafkaBrokers).split(",");
}

/** The SASL listener of the real broker and its user, when it has one. */
export function kafkaSasl(): { brokers: string[]; username: string; password: string } {
  return {
    brokers: need("kafka (SASL)", SERVICE_VARIABLES.kafkaSaslBrokers).split(","),
    username: need("kafka (SASL)", SERVICE_VARIABLES.kafkaSaslUser),
    password: need("kafka (SASL)", SERVICE_VARIABLES.kafkaSaslPassword),
  };
}

/** The SSL listener of the real broker and the CA (PEM) that verifies it. */
export function kafkaTls(): { brokers: string[]; caPem: string } {
  return {
    brokers: need("kafka (TLS)", SERVICE_VARIABLES.kafkaTlsBrokers).split(","),
    caPem: need("kafka (TLS)", SERVICE_VARIABLES.kafkaTlsCa),
  };
}

/** The real KEDA (operator and metrics adapter) working on the test kube-apiserver. */
export function keda(): { version: string; metricsUrl: string } {
  return {
    version: need("keda", SERVICE_VARIABLES.kedaVersion),
    metricsUrl: need("keda", SERVICE_VARIABLES.kedaMetricsUrl),
  };
}

/** The real kube-controller-manager's HPA settings (deployment, replicaset and HPA controllers). */
export function controllerManager(): {
  hpaSyncSeconds: number;
  downscaleStabilizationSeconds: number;
} {
  return {
    hpaSyncSeconds: Number(need("kcm", SERVICE_VARIABLES.hpaSyncSeconds)),
    downscaleStabilizationSeconds: Number(
      need("kcm", SERVICE_VARIABLES.hpaDownscaleStabilizationSeconds),
    ),
  };
}

/** The admin URL of the real PostgreSQL server's `jobpool` database. */
export function databaseUrl(): string {
  return need("postgres", SERVICE_VARIABLES.databaseUrl);
}

/** The URL of the real Redis server, `redis://127.0.0.1:PORT`. */
export function redisUrl(): string {
  return need("redis", SERVICE_VARIABLES.redisUrl);
}

/** Connection details of the real Kubernetes API server. */
export function kube(): {
  kubeconfig: string;
  server: string;
  token: string;
  kubectl: string;
  helm: string;
} {
  return {
    kubeconfig: need("kube-apiserver", SERVICE_VARIABLES.kubeconfig),
    server: need("kube-apiserver", SERVICE_VARIABLES.kubeServer),
    token: need("kube-apiserver", SERVICE_VARIABLES.kubeToken),
    kubectl: need("kube-apiserver", SERVICE_VARIABLES.kubectl),
    helm: need("kube-apiserver", SERVICE_VARIABLES.helm),
  };
}

/** A name no other test run uses: `prefix-<random>`, safe for topics, groups and databases. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().slice(0, 8)}`.replaceAll("-", "_").toLowerCase();
}
