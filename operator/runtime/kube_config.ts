/**
 * Where the API server is and how to authenticate: read from a kubeconfig or
 * the in-cluster service account with `@kubernetes/client-node`'s
 * `KubeConfig` (which also runs exec and auth-provider plugins). Kept apart
 * from the client so that code that never connects does not load client-node.
 *
 * @module
 */

import { KubeConfig } from "@kubernetes/client-node";

/** Where the API server is and how to authenticate to it. */
export interface KubeConnection {
  /** `https://host:port` without a trailing slash. */
  server: string;
  /** Request headers carrying the credentials (e.g. `Authorization`). */
  headers: Record<string, string>;
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
}

/** Reads a kubeconfig file (or the in-cluster service account) into a {@linkcode KubeConnection}. */
export async function loadKubeConnection(
  options: LoadKubeConnectionOptions,
): Promise<KubeConnection> {
  const config = new KubeConfig();
  if (options.kubeconfigPath) {
    config.loadFromFile(options.kubeconfigPath);
    if (options.context) config.setCurrentContext(options.context);
  } else {
    config.loadFromCluster();
  }
  const cluster = config.getCurrentCluster();
  if (!cluster) {
    throw new TypeError(
      `Cannot find the cluster to talk to: the kubeconfig ${
        options.kubeconfigPath ?? "(in-cluster)"
      } has no current cluster; set its current-context`,
    );
  }
  const https: {
    headers?: Record<string, string>;
    ca?: Uint8Array;
    cert?: Uint8Array;
    key?: Uint8Array;
  } = {};
  // deno-lint-ignore no-explicit-any
  await config.applyToHTTPSOptions(https as any);
  const decoder = new TextDecoder();
  const connection: KubeConnection = {
    server: cluster.server.replace(/\/+$/, ""),
    headers: { ...https.headers },
  };
  if (https.ca) connection.caCert = decoder.decode(https.ca);
  if (https.cert && https.key) {
    connection.clientCert = { cert: decoder.decode(https.cert), key: decoder.decode(https.key) };
  }
  return connection;
}
