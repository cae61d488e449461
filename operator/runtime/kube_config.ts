/**
 * Where the API server is and how to authenticate.
 *
 * - A kubeconfig file is read with `@kubernetes/client-node`'s `KubeConfig`
 *   (contexts, client certificates, tokens, exec and auth-provider plugins);
 *   credentials are asked of it again before each request, so plugin tokens
 *   are refreshed when they expire.
 * - In a cluster, the service account's token, CA and the
 *   `KUBERNETES_SERVICE_HOST`/`_PORT` address are read directly (the token
 *   file again every minute, as kubelet rotates it), without loading
 *   client-node, which alone costs about 70 MB of resident memory.
 *
 * @module
 */

/** Where the API server is and how to authenticate to it. */
export interface KubeConnection {
  /** `https://host:port` without a trailing slash. */
  server: string;
  /** Request headers carrying the credentials (e.g. `Authorization`), fresh for each request. */
  headers: () => Promise<Record<string, string>>;
  /** PEM CA bundle that verifies the server, when not the system roots. */
  caCert?: string;
  /** Client certificate and key (PEM), for certificate authentication. */
  clientCert?: { cert: string; key: string };
}

/** Options of {@linkcode loadKubeConnection}. */
export interface LoadKubeConnectionOptions {
  /** Path to a kubeconfig; without it the in-cluster service account is used. */
  kubeconfigPath?: string | undefined;
  /** Context to use instead of the kubeconfig's current one. */
  context?: string | undefined;
  /** In-cluster only: the environment (`KUBERNETES_SERVICE_HOST`, `KUBERNETES_SERVICE_PORT`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** In-cluster only: the service account folder. @default "/var/run/secrets/kubernetes.io/serviceaccount" */
  serviceAccountDir?: string;
}

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
const TOKEN_REREAD_MS = 60_000;

/** Reads a kubeconfig file (or the in-cluster service account) into a {@linkcode KubeConnection}. */
export async function loadKubeConnection(
  options: LoadKubeConnectionOptions,
): Promise<KubeConnection> {
  return options.kubeconfigPath
    ? await fromKubeconfig(options.kubeconfigPath, options.context)
    : await inCluster(options.env ?? {}, options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
}

async function inCluster(
  env: Readonly<Record<string, string | undefined>>,
  dir: string,
): Promise<KubeConnection> {
  const host = env["KUBERNETES_SERVICE_HOST"];
  const port = env["KUBERNETES_SERVICE_PORT"] ?? "443";
  if (!host) {
    throw new TypeError(
      "Cannot find the Kubernetes API: KUBECONFIG is unset and KUBERNETES_SERVICE_HOST is " +
        "not set either (not running in a cluster); set KUBECONFIG to a kubeconfig file",
    );
  }
  const tokenPath = `${dir}/token`;
  let token = await readTrimmed(tokenPath);
  let readAt = Date.now();
  const caCert = await Deno.readTextFile(`${dir}/ca.crt`);
  return {
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    caCert,
    async headers() {
      if (Date.now() - readAt > TOKEN_REREAD_MS) {
        token = await readTrimmed(tokenPath);
        readAt = Date.now();
      }
      return { authorization: `Bearer ${token}` };
    },
  };
}

async function readTrimmed(path: string): Promise<string> {
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch (error) {
    throw new Error(
      `Cannot read the service account token ${path}: ${
        error instanceof Error ? error.message : error
      }; mount a service account token or set KUBECONFIG`,
    );
  }
}

async function fromKubeconfig(path: string, context: string | undefined): Promise<KubeConnection> {
  // Loaded only here: in-cluster operators never pay for it.
  const { KubeConfig } = await import("@kubernetes/client-node");
  const config = new KubeConfig();
  config.loadFromFile(path);
  if (context) config.setCurrentContext(context);
  const cluster = config.getCurrentCluster();
  if (!cluster) {
    throw new TypeError(
      `Cannot find the cluster to talk to: the kubeconfig ${path} has no current cluster; ` +
        "set its current-context",
    );
  }
  interface HttpsOptions {
    headers?: Record<string, string>;
    ca?: Uint8Array;
    cert?: Uint8Array;
    key?: Uint8Array;
  }
  const apply = async (): Promise<HttpsOptions> => {
    const https: HttpsOptions = {};
    // deno-lint-ignore no-explicit-any
    await config.applyToHTTPSOptions(https as any);
    return https;
  };
  const first = await apply();
  const decoder = new TextDecoder();
  const connection: KubeConnection = {
    server: cluster.server.replace(/\/+$/, ""),
    headers: async () => ({ ...(await apply()).headers }),
  };
  if (first.ca) connection.caCert = decoder.decode(first.ca);
  if (first.cert && first.key) {
    connection.clientCert = { cert: decoder.decode(first.cert), key: decoder.decode(first.key) };
  }
  return connection;
}
