/**
 * A bare REST client for the test kube-apiserver, for harness pieces that
 * act as cluster components (the node stand-in binds Pods, writes their
 * status and watches them). It reads the kubeconfig `kube.ts` writes (a
 * bearer token and the server's CA) and knows nothing of the operator.
 *
 * @module
 */

/** The API server answered with an error `Status`. */
export class KubeRestError extends Error {
  /** HTTP status, e.g. 404, 409. */
  readonly code: number;
  /** The Status `reason`, e.g. `NotFound`, `AlreadyExists`. */
  readonly reason: string;
  constructor(what: string, code: number, reason: string, message: string) {
    super(`${what} failed (${code} ${reason}): ${message}`);
    this.name = "KubeRestError";
    this.code = code;
    this.reason = reason;
  }
}

/** One event of a watch. */
export interface RestWatchEvent {
  /** `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK` or `ERROR`. */
  type: string;
  // deno-lint-ignore no-explicit-any -- objects of any kind, read field by field
  object: any;
}

/** Options of {@linkcode KubeRest.request}. */
export interface RestRequestOptions {
  /** JSON body. */
  body?: unknown;
  /** Content type of the body; `application/json` by default. */
  contentType?: string;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** Requests against one API server as one identity. */
export interface KubeRest {
  /** Sends a request to `path` (e.g. `/api/v1/nodes`); returns the parsed JSON answer. */
  // deno-lint-ignore no-explicit-any -- the caller knows the shape it asked for
  request(method: string, path: string, options?: RestRequestOptions): Promise<any>;
  /** Watches `path` (a collection URL with its query) until the server or `signal` ends it. */
  watch(path: string, signal: AbortSignal): AsyncIterable<RestWatchEvent>;
  /** Releases the HTTP client. */
  close(): void;
}

interface Kubeconfig {
  clusters: { cluster: { server: string; "certificate-authority-data": string } }[];
  users: { user: { token: string } }[];
}

/** A client for the server and identity of a kubeconfig written by `kube.ts`. */
export async function kubeRest(kubeconfigPath: string): Promise<KubeRest> {
  const config = JSON.parse(await Deno.readTextFile(kubeconfigPath)) as Kubeconfig;
  const cluster = config.clusters[0]?.cluster;
  const token = config.users[0]?.user.token;
  if (!cluster || !token) {
    throw new Error(`Kubeconfig ${kubeconfigPath} has no cluster or no token user`);
  }
  const client = Deno.createHttpClient({ caCerts: [atob(cluster["certificate-authority-data"])] });
  const send = (method: string, path: string, options: RestRequestOptions = {}) =>
    fetch(`${cluster.server}${path}`, {
      method,
      client,
      headers: {
        authorization: `Bearer ${token}`,
        accept: "application/json",
        ...(options.body === undefined
          ? {}
          : { "content-type": options.contentType ?? "application/json" }),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  return {
    async request(method, path, options) {
      const response = await send(method, path, options);
      const text = await response.text();
      const body = text ? JSON.parse(text) : undefined;
      if (!response.ok) {
        throw new KubeRestError(
          `${method} ${path}`,
          response.status,
          body?.reason ?? "",
          body?.message ?? text,
        );
      }
      return body;
    },
    async *watch(path, signal) {
      const separator = path.includes("?") ? "&" : "?";
      const response = await send("GET", `${path}${separator}watch=true`, { signal });
      if (!response.ok || !response.body) {
        const text = await response.text();
        throw new KubeRestError(`WATCH ${path}`, response.status, "", text);
      }
      let buffer = "";
      const decoder = new TextDecoder();
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf("\n"); end >= 0; end = buffer.indexOf("\n")) {
          const line = buffer.slice(0, end).trim();
          buffer = buffer.slice(end + 1);
          if (line) yield JSON.parse(line) as RestWatchEvent;
        }
      }
    },
    close: () => client.close(),
  };
}

/**
 * Lists the collection at `path`, hands every object to `handle` as `ADDED`,
 * then every change, until `signal` aborts; lists again when a watch
 * expires and retries after errors.
 */
export async function watchCollection(
  api: KubeRest,
  path: string,
  handle: (event: RestWatchEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const separator = path.includes("?") ? "&" : "?";
  let resourceVersion: string | undefined;
  while (!signal.aborted) {
    try {
      if (resourceVersion === undefined) {
        const list = await api.request("GET", path, { signal });
        for (const object of list.items) handle({ type: "ADDED", object });
        resourceVersion = list.metadata.resourceVersion as string;
      }
      const query = `resourceVersion=${resourceVersion}&allowWatchBookmarks=true&timeoutSeconds=60`;
      for await (const event of api.watch(`${path}${separator}${query}`, signal)) {
        if (event.type === "ERROR") {
          resourceVersion = undefined; // expired: list again
          break;
        }
        resourceVersion = event.object?.metadata?.resourceVersion ?? resourceVersion;
        if (event.type !== "BOOKMARK") handle(event);
      }
    } catch (error) {
      if (signal.aborted) return;
      console.error(`watch of ${path}: ${error}; retrying`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
