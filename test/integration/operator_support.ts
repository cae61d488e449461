/**
 * Helpers for the operator's integration tests: a client for the test
 * kube-apiserver, the JobWorkerPool CRD, in-process operator replicas with
 * short lease timings, kubectl with JSON output, and polling with a generous
 * deadline (tests never assert timings).
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CRD_NAME, jobWorkerPoolCrd } from "../../operator/api/mod.ts";
import type { LagReader } from "../../operator/lag/mod.ts";
import { type RunningOperator, startOperator } from "../../operator/manager.ts";
import { HttpKubeClient, type KubeObject, loadKubeConnection } from "../../operator/runtime/mod.ts";
import { synthesizePool } from "../../operator/synth/mod.ts";
import { startKube } from "../env/kube.ts";
import { kubectlOk } from "../env/kubectl.ts";
import { kube, uniqueName } from "../env/services.ts";

/** How the tests reach one API server. */
export interface KubeAccess {
  kubeconfig: string;
  kubectl: string;
}

/** The shared test API server from `test/run.ts`. */
export function sharedKube(): KubeAccess {
  const { kubeconfig, kubectl } = kube();
  return { kubeconfig, kubectl };
}

/** The upstream CRD fixtures: `JOBPOOL_TEST_CRD_DIR`, else `../shared/fixtures/crds` beside the clone. */
export function crdDir(): string {
  return Deno.env.get("JOBPOOL_TEST_CRD_DIR") ??
    fileURLToPath(new URL("../../../shared/fixtures/crds", import.meta.url));
}

/** A Kubernetes-valid unique name (`uniqueName` uses underscores). */
export function kubeName(prefix: string): string {
  return uniqueName(prefix).replaceAll("_", "-");
}

/** Runs kubectl as `access`; returns stdout, throws with stderr. */
export function kubectl(
  access: KubeAccess,
  args: string[],
  stdin?: string,
): Promise<string> {
  return kubectlOk(args, { stdin, kubeconfig: access.kubeconfig, kubectlPath: access.kubectl });
}

/** `kubectl get -o json`, or `undefined` when the object does not exist. */
export async function getJson(
  access: KubeAccess,
  args: string[],
): Promise<KubeObject | undefined> {
  try {
    return JSON.parse(await kubectl(access, ["get", ...args, "-o", "json"])) as KubeObject;
  } catch (error) {
    if (String(error).includes("NotFound")) return undefined;
    throw error;
  }
}

/** Applies objects (JSON) with kubectl server-side apply as the "test" manager. */
export async function applyObjects(access: KubeAccess, ...objects: unknown[]): Promise<void> {
  await kubectl(
    access,
    ["apply", "--server-side", "--field-manager=test", "-f", "-"],
    JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }),
  );
}

/** Installs the JobWorkerPool CRD (idempotent) and waits until it is served. */
export async function installPoolCrd(access: KubeAccess): Promise<void> {
  await kubectl(
    access,
    ["apply", "--server-side", "--force-conflicts", "--field-manager=test-crd", "-f", "-"],
    JSON.stringify(jobWorkerPoolCrd()),
  );
  await kubectl(access, [
    "wait",
    "--for=condition=Established",
    `crd/${CRD_NAME}`,
    "--timeout=60s",
  ]);
}

/** Creates a namespace for one test. */
export async function createNamespace(access: KubeAccess, prefix = "op"): Promise<string> {
  const name = kubeName(prefix);
  await kubectl(access, ["create", "namespace", name]);
  return name;
}

/** A client for the API server behind `access`. */
export async function newClient(access: KubeAccess): Promise<HttpKubeClient> {
  return new HttpKubeClient(await loadKubeConnection({ kubeconfigPath: access.kubeconfig }));
}

/** Options of {@linkcode startTestOperator}. */
export interface TestOperatorOptions {
  client: HttpKubeClient;
  /** The Lease's namespace, and the only one watched unless `watchAllNamespaces`. */
  namespace: string;
  /** Watch pools in every namespace (as the operator does by default). */
  watchAllNamespaces?: boolean;
  identity?: string;
  metricsPort?: number;
  lag?: LagReader;
  lagRefreshMs?: number;
  /** How often every pool is reconciled again; 30 s by default. */
  resyncPeriodMs?: number;
  /** Restart watches silent for this long; 30 s by default. */
  watchdogMs?: number;
}

/** An in-process operator replica scoped to `namespace`, with short lease timings. */
export function startTestOperator(options: TestOperatorOptions): Promise<RunningOperator> {
  return startOperator({
    client: options.client,
    synthesize: synthesizePool,
    identity: options.identity ?? kubeName("operator"),
    lease: {
      namespace: options.namespace,
      name: "jobpool-operator",
      leaseDurationMs: 4_000,
      renewDeadlineMs: 3_000,
      retryPeriodMs: 500,
    },
    watchNamespace: options.watchAllNamespaces ? undefined : options.namespace,
    metricsPort: options.metricsPort,
    resyncPeriodMs: options.resyncPeriodMs ?? 30_000,
    watchdogMs: options.watchdogMs ?? 30_000,
    baseBackoffMs: 100,
    informerMaxBackoffMs: 2_000,
    lag: options.lag,
    ...(options.lagRefreshMs !== undefined ? { lagRefreshMs: options.lagRefreshMs } : {}),
  });
}

/**
 * Calls `probe` until it returns something other than `undefined`/`false`,
 * or fails after `timeoutMs` with `what` and the last value or error.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out waiting for ${what}; last: ${
          last instanceof Error ? last.message : JSON.stringify(last)
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A JobWorkerPool manifest with a small valid spec; `spec` fields override. */
export function poolManifest(
  namespace: string,
  name: string,
  spec: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: "jobpool.dev/v1alpha1",
    kind: "JobWorkerPool",
    metadata: { name, namespace },
    spec: {
      image: "ghcr.io/example/jobpool-worker:1.0.0",
      jobTypes: ["email.send"],
      kafka: {
        bootstrapServers: ["kafka-0.kafka:9092"],
        topic: { name: `${name}-jobs`, partitions: 6 },
      },
      replicas: { min: 1, max: 3 },
      ...spec,
    },
  };
}

/** The condition of `type` in a pool's status. */
export function condition(
  pool: KubeObject | undefined,
  type: string,
): { status: string; reason: string; message: string } | undefined {
  const status = pool?.["status"] as {
    conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
  } | undefined;
  return status?.conditions?.find((c) => c.type === type);
}

/** Whether the pool's status reflects its current generation. */
export function isObserved(pool: KubeObject | undefined): boolean {
  const status = pool?.["status"] as { observedGeneration?: number } | undefined;
  return !!pool && status?.observedGeneration === pool.metadata.generation;
}

/** Options of {@linkcode observedPool}. */
export interface ObservedPoolOptions {
  /** What the wait is for, in its timeout message. @default `pool <name> to be reconciled` */
  what?: string;
  /** A further condition the observed pool must meet. */
  until?: (pool: KubeObject) => boolean;
}

/**
 * Waits until the pool's status reflects its current generation (and meets
 * `options.until`); resolves to the pool.
 */
export function observedPool(
  access: KubeAccess,
  pool: { namespace: string; name: string },
  options: ObservedPoolOptions = {},
): Promise<KubeObject> {
  return eventually(options.what ?? `pool ${pool.name} to be reconciled`, async () => {
    const found = await getJson(access, ["jwp", pool.name, "-n", pool.namespace]);
    return found && isObserved(found) && (options.until?.(found) ?? true) ? found : undefined;
  });
}

/** A kube-apiserver of the test's own, with its access, a client and the JobWorkerPool CRD. */
export interface PrivateKube {
  access: KubeAccess;
  client: HttpKubeClient;
  /** A temporary folder for the test's files, removed by `stop`. */
  dir: string;
  /** Closes the client, stops the server and removes its folder. */
  stop(): Promise<void>;
}

/**
 * Starts a kube-apiserver beside the shared one, for tests that need other
 * CRDs installed (or none); `crds` as {@linkcode startKube} takes them, or a
 * function of the test's folder that writes its own files first.
 */
export async function startPrivateKube(
  crds: "none" | string[] | ((dir: string) => Promise<string[]>),
): Promise<PrivateKube> {
  const shared = kube(); // Fails, naming the service, when the test environment has none.
  const dir = await Deno.makeTempDir({ prefix: "jobpool-op-kube-" });
  const server = await startKube({
    logDir: join(dir, "logs"),
    crds: typeof crds === "function" ? await crds(dir) : crds,
  });
  const access = { kubeconfig: server.kubeconfigPath, kubectl: shared.kubectl };
  try {
    await installPoolCrd(access);
    const client = await newClient(access);
    return {
      access,
      client,
      dir,
      async stop() {
        client.close();
        await server.stop();
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      },
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}
