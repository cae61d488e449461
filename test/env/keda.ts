/**
 * Real KEDA for tests: its operator (which polls the scalers, scales from and
 * to zero and owns the HPA) and its metrics adapter (the external metrics
 * API the HPA reads), running out of cluster against the test kube-apiserver
 * as KEDA's own ServiceAccount with KEDA's own RBAC.
 *
 * Both are built from the Go module proxy on first use into the user-level
 * cache (`~/.cache/jobpool/keda`); KEDA's CRDs and RBAC are read from the
 * module's source in the Go module cache, never copied into the repository.
 * The kube-apiserver must be started with `aggregation: true` so that it can
 * serve `external.metrics.k8s.io` through the adapter.
 *
 * ```ts
 * const kube = await startKube({ logDir, aggregation: true });
 * const keda = await startKeda({ kube, logDir });
 * ```
 *
 * @module
 */

import { join } from "node:path";
import { cacheDir, exists } from "./cache.ts";
import { createCertificateAuthority, issueCertificate } from "./certs.ts";
import {
  buildGoMains,
  downloadModule,
  freshModuleDir,
  goDirective,
  secondsSince,
  withBuildLock,
} from "./go_build.ts";
import type { KubeService } from "./kube.ts";
import { freePort, type ServiceProcess, startProcess, waitFor } from "./process.ts";

/** The KEDA release that is built (`github.com/kedacore/keda/v2`). */
export const KEDA_VERSION = "v2.20.2";

const KEDA_MODULE = "github.com/kedacore/keda/v2";

/** The cached KEDA binaries and the module source their manifests come from. */
export interface KedaBinaries {
  /** `cmd/operator`. */
  operator: string;
  /** `cmd/adapter`, the external metrics API server. */
  adapter: string;
  /** KEDA's module source in the Go module cache (holds `config/`). */
  sourceDir: string;
}

/** A running KEDA. */
export interface KedaService {
  /** The version built, e.g. `v2.20.2`. */
  version: string;
  /** The operator's Prometheus endpoint (`keda_scaler_metrics_value`, `keda_scaler_active`). */
  operatorMetricsUrl: string;
  /** Log files of the operator and the adapter. */
  logPaths: string[];
  /** Stops both processes and removes their certificates. */
  stop(): Promise<void>;
}

/** Options of {@linkcode startKeda}. */
export interface StartKedaOptions {
  /** The API server KEDA works against; started with `aggregation: true`. */
  kube: KubeService;
  /** Folder for `keda-operator.log` and `keda-adapter.log`. */
  logDir: string;
}

let binariesPromise: Promise<KedaBinaries> | undefined;

/**
 * Returns the cached KEDA operator and adapter, building them first when
 * missing (a cold build downloads about 2 GB of modules and takes about
 * 15 minutes on two cores; one progress line on stderr per step).
 */
export function ensureKedaBinaries(): Promise<KedaBinaries> {
  binariesPromise ??= prepareBinaries().catch((error) => {
    binariesPromise = undefined;
    throw error;
  });
  return binariesPromise;
}

async function prepareBinaries(): Promise<KedaBinaries> {
  const root = await cacheDir("keda");
  const binDir = await cacheDir("keda", "bin");
  const operator = join(binDir, `keda-operator-${KEDA_VERSION}`);
  const adapter = join(binDir, `keda-adapter-${KEDA_VERSION}`);
  if (!(await exists(operator)) || !(await exists(adapter))) {
    await withBuildLock(join(root, "build.lock"), "KEDA", async () => {
      if (!(await exists(operator)) || !(await exists(adapter))) {
        await buildKeda({ operator, adapter });
      }
    });
  }
  const { dir: sourceDir } = await downloadModule(KEDA_MODULE, KEDA_VERSION, root);
  return { operator, adapter, sourceDir };
}

/**
 * Builds KEDA's operator and adapter in a wrapper module that requires KEDA
 * and repeats its `replace` directives (a dependency's replaces do not apply
 * to the module that requires it, and KEDA pins Kubernetes and
 * controller-runtime through them).
 */
async function buildKeda(outputs: { operator: string; adapter: string }): Promise<void> {
  const started = Date.now();
  console.error(
    `building KEDA ${KEDA_VERSION} from the Go module proxy (first run only, about 15 minutes ` +
      "and 2 GB of modules)",
  );
  const dir = await freshModuleDir("keda", `keda-${KEDA_VERSION}`);
  const { goMod: keda } = await downloadModule(KEDA_MODULE, KEDA_VERSION, dir);
  const goMod = [
    "module jobpool.local/keda-build",
    "",
    `go ${goDirective(keda, KEDA_MODULE)}`,
    "",
    `require ${KEDA_MODULE} ${KEDA_VERSION}`,
    "",
    "replace (",
    ...replaceDirectives(keda).map((line) => `\t${line}`),
    ")",
    "",
  ].join("\n");
  const version = "github.com/kedacore/keda/v2/version";
  await buildGoMains({
    dir,
    goMod,
    mains: [
      { package: `${KEDA_MODULE}/cmd/operator`, output: outputs.operator },
      { package: `${KEDA_MODULE}/cmd/adapter`, output: outputs.adapter },
    ],
    ldflags: `-s -w -X ${version}.Version=${KEDA_VERSION} -X ${version}.GitCommit=module-proxy`,
    what: `KEDA ${KEDA_VERSION}`,
  });
  console.error(
    `built KEDA in ${secondsSince(started)} s: ${outputs.operator}, ${outputs.adapter}`,
  );
}

/** The `old => new version` lines of a go.mod's `replace` directives (block or single). */
export function replaceDirectives(goMod: string): string[] {
  const lines: string[] = [];
  let inBlock = false;
  for (const raw of goMod.split("\n")) {
    const line = raw.replace(/\/\/.*$/, "").trim();
    if (inBlock) {
      if (line === ")") inBlock = false;
      else if (line) lines.push(line);
    } else if (/^replace\s*\($/.test(line)) {
      inBlock = true;
    } else if (line.startsWith("replace ")) {
      lines.push(line.slice("replace ".length).trim());
    }
  }
  for (const line of lines) {
    if (!/^\S+(\s+\S+)?\s+=>\s+\S+\s+v\S+$/.test(line)) {
      throw new Error(`Cannot repeat KEDA's replace directive "${line}": it is not module@version`);
    }
  }
  return lines;
}

/**
 * Installs KEDA's CRDs, namespace, ServiceAccount and RBAC from its module
 * source, starts the operator and the adapter as that ServiceAccount,
 * registers the adapter as `v1beta1.external.metrics.k8s.io` and waits until
 * the operator is ready and the API serves external metrics.
 *
 * @throws {ServiceStartError} Naming `keda-operator` or `keda-adapter` when one does not come up.
 */
export async function startKeda(options: StartKedaOptions): Promise<KedaService> {
  const { kube, logDir } = options;
  const bins = await ensureKedaBinaries();
  const config = join(bins.sourceDir, "config");
  const tmp = await Deno.makeTempDir({ prefix: "jobpool-keda-" });
  const started: ServiceProcess[] = [];
  const stop = async () => {
    for (const service of started.reverse()) await service.stop();
    await kube.kubectl(["delete", "apiservice", "v1beta1.external.metrics.k8s.io", "--wait=false"])
      .catch(() => {});
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  };
  try {
    // The ScaledObject CRD is too big for client-side apply's annotation.
    await kube.kubectl([
      "apply",
      "--server-side",
      "--force-conflicts",
      "--field-manager=jobpool-test-keda",
      "-f",
      join(config, "crd", "bases"),
    ]);
    await kube.kubectl(["create", "namespace", "keda"]).catch(ignoreAlreadyExists);
    for (
      const file of [
        "service_account/service_account.yaml",
        "rbac/role.yaml",
        "rbac/role_binding.yaml",
        "metrics-server/role.yaml",
        "metrics-server/role_binding.yaml",
      ]
    ) {
      await kube.kubectl(["apply", "-f", join(config, file)]);
    }
    const token = await kube.createServiceAccountToken("keda", "keda-operator", {
      duration: "48h",
    });
    const kubeconfig = await kube.kubeconfigFor(token);

    // One CA and one certificate serve the adapter's API, the operator's
    // gRPC metrics service and the adapter's gRPC client.
    const ca = await createCertificateAuthority(tmp, "ca");
    const leaf = await issueCertificate(ca, tmp, "tls", {
      commonName: "keda",
      hosts: [
        "127.0.0.1",
        "localhost",
        "keda-operator.keda.svc",
        "keda-metrics-apiserver.keda.svc",
      ],
    });
    const certDir = join(tmp, "certs");
    await Deno.mkdir(certDir);
    await Deno.copyFile(ca.certFile, join(certDir, "ca.crt"));
    await Deno.copyFile(leaf.certFile, join(certDir, "tls.crt"));
    await Deno.copyFile(leaf.keyFile, join(certDir, "tls.key"));

    const env = {
      KUBECONFIG: kubeconfig,
      WATCH_NAMESPACE: "",
      POD_NAMESPACE: "keda",
      KEDA_CLUSTER_OBJECT_NAMESPACE: "keda",
    };
    const [metricsPort = 0, probePort = 0, grpcPort = 0, securePort = 0, adapterMetricsPort = 0] =
      distinctPorts(5);
    const operator = await startProcess({
      name: "keda-operator",
      command: bins.operator,
      args: [
        "--leader-elect=false",
        "--enable-cert-rotation=false",
        `--cert-dir=${certDir}`,
        `--metrics-bind-address=127.0.0.1:${metricsPort}`,
        `--health-probe-bind-address=127.0.0.1:${probePort}`,
        `--metrics-service-bind-address=127.0.0.1:${grpcPort}`,
        "--zap-log-level=info",
        "--zap-encoder=console",
      ],
      env,
      logDir,
    });
    started.push(operator);
    const adapter = await startProcess({
      name: "keda-adapter",
      command: bins.adapter,
      args: [
        `--secure-port=${securePort}`,
        "--bind-address=127.0.0.1",
        `--port=${adapterMetricsPort}`,
        `--tls-cert-file=${join(certDir, "tls.crt")}`,
        `--tls-private-key-file=${join(certDir, "tls.key")}`,
        `--cert-dir=${certDir}`,
        `--metrics-service-address=127.0.0.1:${grpcPort}`,
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        `--lister-kubeconfig=${kubeconfig}`,
        "--zap-log-level=error",
      ],
      env,
      logDir,
    });
    started.push(adapter);
    await registerAdapter(kube, { port: securePort, caPem: ca.certPem });

    await waitFor(async () => (await fetch(`http://127.0.0.1:${probePort}/readyz`)).ok, {
      timeoutMs: 120_000,
      what: `the KEDA operator's /readyz on 127.0.0.1:${probePort}`,
      process: operator,
    });
    await waitFor(async () => {
      await kube.kubectl(["get", "--raw", "/apis/external.metrics.k8s.io/v1beta1"]);
      return true;
    }, {
      timeoutMs: 120_000,
      what: "the API server to serve external.metrics.k8s.io through the KEDA adapter",
      process: adapter,
      intervalMs: 500,
    });
    return {
      version: KEDA_VERSION,
      operatorMetricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
      logPaths: [operator.logPath, adapter.logPath],
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Points `v1beta1.external.metrics.k8s.io` at the adapter on the loopback:
 * through a Service of type ExternalName (`localhost`), since the API server
 * rejects loopback Endpoints; `caBundle` verifies the adapter's certificate,
 * issued for `keda-metrics-apiserver.keda.svc`.
 */
async function registerAdapter(
  kube: KubeService,
  adapter: { port: number; caPem: string },
): Promise<void> {
  const objects = [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "keda-metrics-apiserver", namespace: "keda" },
      spec: {
        type: "ExternalName",
        externalName: "localhost",
        ports: [{ name: "https", port: adapter.port, targetPort: adapter.port }],
      },
    },
    {
      apiVersion: "apiregistration.k8s.io/v1",
      kind: "APIService",
      metadata: { name: "v1beta1.external.metrics.k8s.io" },
      spec: {
        service: { name: "keda-metrics-apiserver", namespace: "keda", port: adapter.port },
        group: "external.metrics.k8s.io",
        version: "v1beta1",
        caBundle: btoa(adapter.caPem),
        groupPriorityMinimum: 100,
        versionPriority: 100,
      },
    },
  ];
  await kube.kubectl(
    ["apply", "--server-side", "--force-conflicts", "--field-manager=jobpool-test-keda", "-f", "-"],
    { stdin: JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }) },
  );
}

function ignoreAlreadyExists(error: unknown): void {
  if (!String(error).includes("AlreadyExists")) throw error;
}

function distinctPorts(count: number): number[] {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(freePort());
  return [...ports];
}
