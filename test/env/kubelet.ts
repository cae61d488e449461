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
import {
  containerEnv,
  type ContainerSpec,
  localPort,
  type PodObject,
  writeVolumes,
} from "./pod_spec.ts";
import { freePort, type ServiceProcess, startProcess } from "./process.ts";

export type { ContainerSpec } from "./pod_spec.ts";

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
  const node = new Node(options);
  await Deno.mkdir(options.dir, { recursive: true });
  await options.api.request("POST", "/api/v1/nodes", {
    body: { apiVersion: "v1", kind: "Node", metadata: { name: node.name } },
  }).catch((error) => {
    if (!String(error).includes("AlreadyExists")) throw error;
  });
  node.start();
  return node;
}

class Node implements TestNode {
  readonly name: string;
  readonly #options: StartNodeOptions;
  readonly #pods = new Map<string, PodState>();
  readonly #events: NodeEvent[] = [];
  readonly #stopping = new AbortController();
  #watching: Promise<void> = Promise.resolve();

  constructor(options: StartNodeOptions) {
    this.#options = options;
    this.name = `jobpool-test-node-${options.namespace}`.slice(0, 63);
  }

  start(): void {
    this.#watching = watchCollection(
      this.#options.api,
      `/api/v1/namespaces/${this.#options.namespace}/pods`,
      (event) => this.#handle(event),
      this.#stopping.signal,
    );
  }

  running(): RunningPod[] {
    return [...this.#pods.values()]
      .filter((state) => state.process && !state.terminating)
      .map((state) => ({
        name: state.pod.metadata.name,
        pid: state.process!.child.pid,
        ports: state.ports,
        ready: state.ready,
        restarts: state.restarts,
      }));
  }

  events(): readonly NodeEvent[] {
    return this.#events;
  }

  crashes(): NodeEvent[] {
    return this.#events.filter((event) => event.type === "exited");
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#watching;
    await Promise.all([...this.#pods.values()].map((state) => {
      clearInterval(state.probeTimer);
      state.terminating = true;
      const graceMs = (state.pod.spec.terminationGracePeriodSeconds ?? 30) * 1_000;
      return state.queue.then(() => state.process?.stop(graceMs));
    }));
    await this.#options.api.request("DELETE", `/api/v1/nodes/${this.name}`).catch(() => {});
  }

  #handle(event: RestWatchEvent): void {
    const pod = event.object as PodObject;
    if (!pod?.metadata?.uid || (pod.spec.nodeName && pod.spec.nodeName !== this.name)) return;
    const known = this.#pods.get(pod.metadata.uid);
    if (event.type === "DELETED") {
      if (known) this.#enqueue(known, () => this.#terminate(known));
      return;
    }
    const state = known ?? this.#admit(pod);
    state.pod = pod;
    if (pod.metadata.deletionTimestamp) this.#enqueue(state, () => this.#terminate(state));
  }

  /** A new Pod: bind it to this node (the scheduler's part), then run it. */
  #admit(pod: PodObject): PodState {
    const state: PodState = {
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
    this.#pods.set(pod.metadata.uid, state);
    this.#enqueue(state, async () => {
      if (!pod.spec.nodeName) {
        await this.#options.api.request("POST", `${this.#podPath(pod)}/binding`, {
          body: {
            apiVersion: "v1",
            kind: "Binding",
            metadata: { name: pod.metadata.name },
            target: { apiVersion: "v1", kind: "Node", name: this.name },
          },
        });
      }
      if (state.terminating) return;
      await this.#launch(state);
      state.probeTimer = setInterval(() => this.#enqueue(state, () => this.#probe(state)), 1_000);
    });
    return state;
  }

  /** Starts the Pod's container; restarts it with a back-off when it exits on its own. */
  async #launch(state: PodState): Promise<void> {
    const { pod } = state;
    const container = pod.spec.containers[0]!;
    const { api, dir } = this.#options;
    const env = await containerEnv(api, pod, container, {
      ports: state.ports,
      volumes: await writeVolumes(api, pod, container, join(dir, pod.metadata.name)),
    });
    const inherited: Record<string, string> = {};
    for (const name of [...BASE_ENV, ...(this.#options.inheritEnv ?? [])]) {
      const value = Deno.env.get(name);
      if (value !== undefined) inherited[name] = value;
    }
    const { command, args } = this.#options.run(container, pod.metadata.name);
    const process = await startProcess({
      name: `pod-${pod.metadata.name}`,
      command,
      args,
      env: { ...inherited, ...env },
      clearEnv: true,
      logDir: dir,
    });
    state.process = process;
    state.ready = false;
    state.failures = 0;
    this.#record(pod.metadata.name, "started");
    await this.#writeStatus(state);
    process.child.status.then((status) => {
      if (state.terminating || this.#stopping.signal.aborted) return;
      this.#record(pod.metadata.name, "exited", status.code);
      state.process = undefined;
      state.ready = false;
      state.restarts += 1;
      const backoff = Math.min(10_000, 1_000 * 2 ** (state.restarts - 1));
      setTimeout(() => {
        if (state.terminating || this.#stopping.signal.aborted) return;
        this.#enqueue(state, () => this.#launch(state));
      }, backoff);
    });
  }

  /** One readiness probe; the status is written when readiness changes. */
  async #probe(state: PodState): Promise<void> {
    if (state.terminating || !state.process) return;
    const container = state.pod.spec.containers[0]!;
    const get = container.readinessProbe?.httpGet;
    const port = get ? localPort(container, state.ports, get.port) : undefined;
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
    const threshold = container.readinessProbe?.failureThreshold ?? 3;
    const ready = ok || (state.ready && state.failures < threshold);
    if (ready === state.ready || state.terminating) return;
    state.ready = ready;
    this.#record(state.pod.metadata.name, ready ? "ready" : "unready");
    await this.#writeStatus(state);
  }

  /** SIGTERM, SIGKILL after the grace period, then the Pod object goes. */
  async #terminate(state: PodState): Promise<void> {
    if (state.terminating) return;
    state.terminating = true;
    clearInterval(state.probeTimer);
    const { pod } = state;
    this.#record(pod.metadata.name, "terminating");
    const graceSeconds = pod.metadata.deletionGracePeriodSeconds ??
      pod.spec.terminationGracePeriodSeconds ?? 30;
    await state.process?.stop(graceSeconds * 1_000);
    this.#record(pod.metadata.name, "removed");
    await this.#options.api.request("DELETE", this.#podPath(pod), {
      body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } },
    }).catch(() => {/* already gone */});
  }

  /** Writes the Pod's status as a kubelet would: Running, readiness, the container's state. */
  async #writeStatus(state: PodState): Promise<void> {
    const container = state.pod.spec.containers[0]!;
    const now = new Date().toISOString();
    const condition = (type: string, status: boolean) => ({
      type,
      status: status ? "True" : "False",
      lastTransitionTime: now,
    });
    await this.#options.api.request("PATCH", `${this.#podPath(state.pod)}/status`, {
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
  }

  #enqueue(state: PodState, work: () => Promise<void>): void {
    state.queue = state.queue.then(work).catch((error) => {
      console.error(`node ${this.name}: pod ${state.pod.metadata.name}: ${error}`);
    });
  }

  #record(pod: string, type: NodeEvent["type"], code?: number): void {
    this.#events.push({ at: Date.now(), pod, type, ...(code === undefined ? {} : { code }) });
  }

  #podPath(pod: PodObject): string {
    return `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`;
  }
}
