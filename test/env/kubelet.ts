/**
 * A node for tests: stands in for the scheduler and the kubelet of one node,
 * for the Pods of one namespace, so that the autoscaling loop closes without
 * a container runtime. With kube-controller-manager's `deployment` and
 * `replicaset` controllers running (see `kcm.ts`), a Deployment's replicas
 * become Pods, and this helper
 *
 * 1. registers a Node and binds each new Pod of its namespace to it (the
 *    scheduler's part), so that deleting a Pod is graceful, as on a cluster;
 * 2. runs each Pod's container as a local process (the kubelet's part): the
 *    command comes from the test (`run`), the environment from the container
 *    spec with `value`, Secret and ConfigMap references resolved and
 *    `envFrom` applied; Secret volumes are written to a folder of the Pod's;
 * 3. probes the container's `readinessProbe` (`httpGet`) every second and
 *    writes the Pod's status (Running, `Ready`, container statuses and
 *    restarts) through `pods/status`, from which the ReplicaSet and
 *    Deployment controllers count ready and available replicas;
 * 4. on deletion sends SIGTERM, waits up to the Pod's grace period, then
 *    SIGKILL, and removes the Pod; a container that exits on its own is
 *    restarted with a back-off (`restartPolicy: Always`).
 *
 * Where it differs from a kubelet: every Pod shares the host's network, so
 * each container port gets a free loopback port instead, and an environment
 * variable whose name ends in `PORT` and whose value is a container port is
 * rewritten to it (as are probe ports); environment values that start with
 * a Secret volume's mount path are rewritten to the volume's local folder
 * (other volumes, such as an `emptyDir` on `/tmp`, are the host's folders). Images,
 * resources, security contexts, liveness probes and init containers are
 * ignored, and only a Pod's first container runs.
 *
 * @module
 */

import { join } from "node:path";
import { type KubeRest, type RestWatchEvent, watchCollection } from "./kube_rest.ts";
import { freePort, type ServiceProcess, startProcess } from "./process.ts";

/** The command a container runs as, from the test. */
export interface ContainerCommand {
  command: string;
  args: string[];
}

/** What the node saw happen, in order. */
export interface NodeEvent {
  /** `Date.now()` when it happened. */
  at: number;
  /** The Pod's name. */
  pod: string;
  /** `started`, `ready`, `unready`, `terminating`, `exited` (on its own) or `removed`. */
  type: "started" | "ready" | "unready" | "terminating" | "exited" | "removed";
  /** The exit code, for `exited`. */
  code?: number;
}

/** A Pod running on the node. */
export interface RunningPod {
  name: string;
  /** The container's process id. */
  pid: number;
  /** Local port per container port. */
  ports: Map<number, number>;
  ready: boolean;
  restarts: number;
}

/** Options of {@linkcode startNode}. */
export interface StartNodeOptions {
  /** The API client (admin). */
  api: KubeRest;
  /** The namespace whose Pods this node runs. */
  namespace: string;
  /** Maps a Pod's container to a local command. */
  run(container: ContainerSpec, podName: string): ContainerCommand;
  /** Folder for each Pod's log (`pod-<name>.log`) and volumes. */
  dir: string;
  /** Variables of this process every container gets too (e.g. `PATH`, `HOME`). */
  inheritEnv?: string[];
}

/** A running node. */
export interface TestNode {
  /** The Node's name. */
  name: string;
  /** Pods running now. */
  running(): RunningPod[];
  /** Everything that happened, in order. */
  events(): readonly NodeEvent[];
  /** Pods whose container exited on its own (and was restarted), by name. */
  crashes(): NodeEvent[];
  /** Stops every container (SIGTERM, then SIGKILL after the grace period) and the watch. */
  stop(): Promise<void>;
}

/** The parts of a container spec the node uses. */
export interface ContainerSpec {
  name: string;
  image?: string;
  env?: EnvVar[];
  envFrom?: { prefix?: string; secretRef?: { name: string }; configMapRef?: { name: string } }[];
  ports?: { containerPort: number; name?: string }[];
  volumeMounts?: { name: string; mountPath: string }[];
  readinessProbe?: {
    httpGet?: { path?: string; port: number | string };
    failureThreshold?: number;
  };
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}

interface PodObject {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
  };
  spec: {
    nodeName?: string;
    containers: ContainerSpec[];
    volumes?: {
      name: string;
      secret?: { secretName: string; items?: { key: string; path: string }[] };
    }[];
    terminationGracePeriodSeconds?: number;
  };
}

interface PodState {
  pod: PodObject;
  process?: ServiceProcess | undefined;
  ports: Map<number, number>;
  ready: boolean;
  restarts: number;
  terminating: boolean;
  probeTimer?: ReturnType<typeof setInterval>;
  failures: number;
  /** Serializes work on this Pod. */
  queue: Promise<void>;
}

const BASE_ENV = ["PATH", "HOME", "DENO_DIR", "TMPDIR", "LANG"];

/**
 * Registers a Node named after `namespace` and starts running that
 * namespace's Pods. Stop it with {@linkcode TestNode.stop}.
 */
export async function startNode(options: StartNodeOptions): Promise<TestNode> {
  const { api, namespace } = options;
  const nodeName = `jobpool-test-node-${namespace}`.slice(0, 63);
  await Deno.mkdir(options.dir, { recursive: true });
  await api.request("POST", "/api/v1/nodes", {
    body: { apiVersion: "v1", kind: "Node", metadata: { name: nodeName } },
  }).catch((error) => {
    if (!String(error).includes("AlreadyExists")) throw error;
  });
  const pods = new Map<string, PodState>();
  const events: NodeEvent[] = [];
  const stopping = new AbortController();
  const record = (pod: string, type: NodeEvent["type"], code?: number) =>
    events.push({ at: Date.now(), pod, type, ...(code === undefined ? {} : { code }) });
  const podPath = (name: string) => `/api/v1/namespaces/${namespace}/pods/${name}`;

  const writeStatus = async (state: PodState) => {
    const container = state.pod.spec.containers[0]!;
    const now = new Date().toISOString();
    const condition = (type: string, status: boolean) => ({
      type,
      status: status ? "True" : "False",
      lastTransitionTime: now,
    });
    await api.request("PATCH", `${podPath(state.pod.metadata.name)}/status`, {
      contentType: "application/merge-patch+json",
      body: {
        status: {
          phase: "Running",
          hostIP: "127.0.0.1",
          podIP: "127.0.0.1",
          podIPs: [{ ip: "127.0.0.1" }],
          startTime: now,
          conditions: [
            condition("PodScheduled", true),
            condition("Initialized", true),
            condition("ContainersReady", state.ready),
            condition("Ready", state.ready),
          ],
          containerStatuses: [{
            name: container.name,
            image: container.image ?? "",
            imageID: "",
            ready: state.ready,
            started: true,
            restartCount: state.restarts,
            state: { running: { startedAt: now } },
          }],
        },
      },
    }).catch(() => {/* the Pod is gone meanwhile */});
  };

  const probe = (state: PodState) => {
    const container = state.pod.spec.containers[0]!;
    const get = container.readinessProbe?.httpGet;
    const port = get ? localPort(container, state.ports, get.port) : undefined;
    const check = async () => {
      if (state.terminating || !state.process) return;
      let ok = get === undefined; // no probe: ready once started
      if (port !== undefined) {
        try {
          const response = await fetch(`http://127.0.0.1:${port}${get?.path ?? "/"}`, {
            signal: AbortSignal.timeout(1_000),
          });
          await response.body?.cancel();
          ok = response.status >= 200 && response.status < 400;
        } catch {
          ok = false;
        }
      }
      state.failures = ok ? 0 : state.failures + 1;
      const ready = ok ||
        (state.ready && state.failures < (container.readinessProbe?.failureThreshold ?? 3));
      if (ready !== state.ready && !state.terminating) {
        state.ready = ready;
        record(state.pod.metadata.name, ready ? "ready" : "unready");
        await writeStatus(state);
      }
    };
    state.probeTimer = setInterval(() => void enqueue(state, check), 1_000);
  };

  const enqueue = (state: PodState, work: () => Promise<void>) => {
    state.queue = state.queue.then(work).catch((error) => {
      console.error(`node ${nodeName}: pod ${state.pod.metadata.name}: ${error}`);
    });
    return state.queue;
  };

  const launch = async (state: PodState) => {
    const { pod } = state;
    const container = pod.spec.containers[0]!;
    const env = await containerEnv(api, pod, container, {
      ports: state.ports,
      volumes: await writeVolumes(api, pod, container, join(options.dir, pod.metadata.name)),
    });
    const inherited: Record<string, string> = {};
    for (const name of [...BASE_ENV, ...(options.inheritEnv ?? [])]) {
      const value = Deno.env.get(name);
      if (value !== undefined) inherited[name] = value;
    }
    const { command, args } = options.run(container, pod.metadata.name);
    const process = await startProcess({
      name: `pod-${pod.metadata.name}`,
      command,
      args,
      env: { ...inherited, ...env },
      clearEnv: true,
      logDir: options.dir,
    });
    state.process = process;
    state.ready = false;
    state.failures = 0;
    record(pod.metadata.name, "started");
    await writeStatus(state);
    process.child.status.then((status) => {
      if (state.terminating || stopping.signal.aborted) return;
      record(pod.metadata.name, "exited", status.code);
      state.process = undefined;
      state.ready = false;
      state.restarts += 1;
      const backoff = Math.min(10_000, 1_000 * 2 ** (state.restarts - 1));
      setTimeout(() => {
        if (!state.terminating && !stopping.signal.aborted) {
          void enqueue(state, () => launch(state));
        }
      }, backoff);
    });
  };

  const terminate = async (state: PodState) => {
    if (state.terminating) return;
    state.terminating = true;
    clearInterval(state.probeTimer);
    const { pod } = state;
    record(pod.metadata.name, "terminating");
    const graceSeconds = pod.metadata.deletionGracePeriodSeconds ??
      pod.spec.terminationGracePeriodSeconds ?? 30;
    await state.process?.stop(graceSeconds * 1_000);
    record(pod.metadata.name, "removed");
    await api.request("DELETE", podPath(pod.metadata.name), {
      body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } },
    }).catch(() => {/* already gone */});
  };

  const handle = (event: RestWatchEvent) => {
    const pod = event.object as PodObject;
    if (!pod?.metadata?.uid || (pod.spec.nodeName && pod.spec.nodeName !== nodeName)) return;
    let state = pods.get(pod.metadata.uid);
    if (event.type === "DELETED") {
      if (state) void enqueue(state, () => terminate(state!));
      return;
    }
    if (!state) {
      state = {
        pod,
        ports: new Map(),
        ready: false,
        restarts: 0,
        terminating: false,
        failures: 0,
        queue: Promise.resolve(),
      };
      for (const port of pod.spec.containers[0]?.ports ?? []) {
        state.ports.set(port.containerPort, freePort());
      }
      pods.set(pod.metadata.uid, state);
      const started = state;
      void enqueue(started, async () => {
        if (!pod.spec.nodeName) {
          await api.request("POST", `${podPath(pod.metadata.name)}/binding`, {
            body: {
              apiVersion: "v1",
              kind: "Binding",
              metadata: { name: pod.metadata.name },
              target: { apiVersion: "v1", kind: "Node", name: nodeName },
            },
          });
        }
        if (started.terminating) return;
        await launch(started);
        probe(started);
      });
    }
    state.pod = pod;
    if (pod.metadata.deletionTimestamp) void enqueue(state, () => terminate(state!));
  };

  const watching = watchCollection(
    api,
    `/api/v1/namespaces/${namespace}/pods`,
    handle,
    stopping.signal,
  );

  return {
    name: nodeName,
    running: () =>
      [...pods.values()]
        .filter((state) => state.process && !state.terminating)
        .map((state) => ({
          name: state.pod.metadata.name,
          pid: state.process!.child.pid,
          ports: state.ports,
          ready: state.ready,
          restarts: state.restarts,
        })),
    events: () => events,
    crashes: () => events.filter((event) => event.type === "exited"),
    async stop() {
      stopping.abort();
      await watching;
      await Promise.all(
        [...pods.values()].map((state) => {
          clearInterval(state.probeTimer);
          state.terminating = true;
          return state.queue.then(() =>
            state.process?.stop((state.pod.spec.terminationGracePeriodSeconds ?? 30) * 1_000)
          );
        }),
      );
      await api.request("DELETE", `/api/v1/nodes/${nodeName}`).catch(() => {});
    },
  };
}

/** The container's port `port` (a number or a port name) on the loopback. */
function localPort(
  container: ContainerSpec,
  ports: Map<number, number>,
  port: number | string,
): number | undefined {
  const number = typeof port === "number"
    ? port
    : container.ports?.find((p) => p.name === port)?.containerPort;
  return number === undefined ? undefined : ports.get(number);
}

/** Writes the Secret volumes that `container` mounts; returns mount path → local folder. */
async function writeVolumes(
  api: KubeRest,
  pod: PodObject,
  container: ContainerSpec,
  dir: string,
): Promise<Map<string, string>> {
  const mounts = new Map<string, string>();
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.spec.volumes?.find((v) => v.name === mount.name);
    if (!volume?.secret) continue; // emptyDir and the like: the host's folders serve
    const local = join(dir, "volumes", mount.name);
    await Deno.mkdir(local, { recursive: true });
    mounts.set(mount.mountPath, local);
    const secret = await api.request(
      "GET",
      `/api/v1/namespaces/${pod.metadata.namespace}/secrets/${volume.secret.secretName}`,
    );
    const data = (secret.data ?? {}) as Record<string, string>;
    const items = volume.secret.items ?? Object.keys(data).map((key) => ({ key, path: key }));
    for (const item of items) {
      const value = data[item.key];
      if (value === undefined) continue;
      await Deno.writeFile(join(local, item.path), decodeBase64(value));
    }
  }
  return mounts;
}

/** The container's environment, references resolved, ports and mount paths rewritten. */
async function containerEnv(
  api: KubeRest,
  pod: PodObject,
  container: ContainerSpec,
  local: { ports: Map<number, number>; volumes: Map<string, string> },
): Promise<Record<string, string>> {
  const namespace = pod.metadata.namespace;
  const cache = new Map<string, Record<string, string>>();
  const data = async (kind: "secrets" | "configmaps", name: string) => {
    const key = `${kind}/${name}`;
    if (!cache.has(key)) {
      const object = await api.request("GET", `/api/v1/namespaces/${namespace}/${key}`);
      const raw = (object.data ?? {}) as Record<string, string>;
      cache.set(
        key,
        kind === "secrets"
          ? Object.fromEntries(
            Object.entries(raw).map(([k, v]) => [k, new TextDecoder().decode(decodeBase64(v))]),
          )
          : raw,
      );
    }
    return cache.get(key)!;
  };
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const values = source.secretRef
      ? await data("secrets", source.secretRef.name)
      : source.configMapRef
      ? await data("configmaps", source.configMapRef.name)
      : {};
    for (const [key, value] of Object.entries(values)) env[`${source.prefix ?? ""}${key}`] = value;
  }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    let value = variable.value;
    if (from?.secretKeyRef) {
      value = (await data("secrets", from.secretKeyRef.name))[from.secretKeyRef.key];
    }
    if (from?.configMapKeyRef) {
      value = (await data("configmaps", from.configMapKeyRef.name))[from.configMapKeyRef.key];
    }
    if (from?.fieldRef) {
      value = { "metadata.name": pod.metadata.name, "metadata.namespace": namespace }[
        from.fieldRef.fieldPath
      ];
    }
    if (value === undefined) continue;
    if (variable.name.endsWith("PORT") && local.ports.has(Number(value))) {
      value = String(local.ports.get(Number(value)));
    }
    for (const [mountPath, folder] of local.volumes) {
      if (value === mountPath || value.startsWith(`${mountPath}/`)) {
        value = folder + value.slice(mountPath.length);
      }
    }
    env[variable.name] = value;
  }
  return env;
}

function decodeBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
