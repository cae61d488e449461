/**
 * What every scaling test stands on: a namespace of its own on the test
 * kube-apiserver (where KEDA and kube-controller-manager run), the operator
 * in-process, a job topic and consumer group of its own, and optionally a
 * node (`test/env/kubelet.ts`) that runs each worker Pod as a worker process
 * (`fixtures/scaling_worker.ts`). It records every change of the
 * Deployments' replicas and counts the workers' effects.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Admin } from "kafkajs";
import { type Config, loadConfig } from "../../src/config/mod.ts";
import { createKafkaClient } from "../../src/kafka/mod.ts";
import { ensureTopic } from "../../src/producer/mod.ts";
import type { RunningOperator } from "../../operator/mod.ts";
import type { HttpKubeClient, KubeObject } from "../../operator/runtime/mod.ts";
import { type KubeRest, kubeRest, watchCollection } from "../env/kube_rest.ts";
import { startNode, type TestNode } from "../env/kubelet.ts";
import { kafkaBrokers, keda, kube, uniqueName } from "../env/services.ts";
import { emailJob, produce } from "./fixtures/worker_harness.ts";
import {
  applyObjects,
  createNamespace,
  getJson,
  installPoolCrd,
  type KubeAccess,
  newClient,
  sharedKube,
  startTestOperator,
} from "./operator_support.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/scaling_worker.ts", import.meta.url));
const DENO_CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));

/** One observed value of a Deployment's replicas. */
export interface ReplicaSample {
  /** `Date.now()` when it was seen. */
  at: number;
  /** The Deployment. */
  name: string;
  /** `spec.replicas` (what KEDA and the HPA ask for). */
  replicas: number;
  /** `status.readyReplicas` (what the node reported through the Pods). */
  ready: number;
}

/** Options of {@linkcode openScalingStack}. */
export interface ScalingStackOptions {
  /** Names the namespace, topic and group. */
  prefix: string;
  /** Partitions of the job topic; `0` leaves the topic uncreated. */
  partitions: number;
  /** Whether a node runs the worker Pods. @default true */
  node?: boolean;
}

/** A scaling test's world; close it with `await using` or `close()`. */
export interface ScalingStack extends AsyncDisposable {
  access: KubeAccess;
  api: KubeRest;
  client: HttpKubeClient;
  namespace: string;
  topic: string;
  group: string;
  /** The workers' effects and deliveries are written here. */
  effectsDir: string;
  /** Producer-side Kafka settings (PLAINTEXT listener, the test's topic). */
  config: Config;
  node: TestNode | undefined;
  /** Every change of a Deployment's `spec.replicas` or `status.readyReplicas`, in order. */
  replicaHistory: ReplicaSample[];
  /** Sends `count` welcome jobs over `campaigns` keys; returns their ids. */
  produce(count: number, campaigns?: number): Promise<string[]>;
  /** The group's lag on the topic (log end minus committed, summed over partitions). */
  lag(): Promise<number>;
  /** Job ids delivered to a handler (with repeats) and the effects done. */
  effects(): Promise<{ deliveries: string[]; effects: Set<string> }>;
  /** Pool resizes per worker process, as `[from, to]` pairs. */
  resizes(): Promise<[number, number][][]>;
  /** KEDA's `keda_scaler_metrics_value` and `keda_scaler_active` for this namespace's scaler. */
  kedaMetric(): Promise<{ value: number; active: boolean } | undefined>;
  close(): Promise<void>;
}

/** Creates a namespace, topic and group, starts the operator (and a node), watches replicas. */
export async function openScalingStack(options: ScalingStackOptions): Promise<ScalingStack> {
  keda(); // fails now, naming the service, when the run has no KEDA
  const access = sharedKube();
  await installPoolCrd(access);
  const namespace = await createNamespace(access, options.prefix.replaceAll("_", "-"));
  const topic = uniqueName(options.prefix);
  const group = `${topic}.workers`;
  const config = loadConfig({ KAFKA_BROKERS: kafkaBrokers().join(","), KAFKA_JOB_TOPIC: topic });
  if (options.partitions > 0) {
    await ensureTopic({ kafka: config.kafka, partitions: options.partitions });
  }
  const effectsDir = await Deno.makeTempDir({ prefix: `jobpool-${options.prefix}-` });
  const client = await newClient(access);
  const api = await kubeRest(kube().kubeconfig);
  // Run in reverse: the folder goes last, after the workers writing into it.
  const cleanups: (() => Promise<void> | void)[] = [
    () =>
      Deno.env.get("JOBPOOL_TEST_KEEP_SCALING_FILES")
        ? undefined
        : Deno.remove(effectsDir, { recursive: true }),
    () => client.close(),
    () => api.close(),
  ];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch { /* best effort: the rest still runs */ }
    }
  };
  try {
    const operator: RunningOperator = await startTestOperator({
      client,
      namespace,
      resyncPeriodMs: 10_000,
    });
    cleanups.push(() => operator.stop());
    const replicaHistory: ReplicaSample[] = [];
    const watching = new AbortController();
    const watched = watchCollection(api, `/apis/apps/v1/namespaces/${namespace}/deployments`, ({
      object,
    }) => {
      const sample = {
        at: Date.now(),
        name: object.metadata.name as string,
        replicas: (object.spec?.replicas ?? 0) as number,
        ready: (object.status?.readyReplicas ?? 0) as number,
      };
      const last = replicaHistory.findLast((s) => s.name === sample.name);
      if (!last || last.replicas !== sample.replicas || last.ready !== sample.ready) {
        replicaHistory.push(sample);
      }
    }, watching.signal);
    cleanups.push(async () => {
      watching.abort();
      await watched;
    });
    const node = options.node === false ? undefined : await startNode({
      api,
      namespace,
      dir: join(effectsDir, "node"),
      run: () => ({
        command: Deno.execPath(),
        args: ["run", "--allow-all", "--config", DENO_CONFIG, FIXTURE],
      }),
    });
    if (node) cleanups.push(() => node.stop());
    const admin = createKafkaClient(config.kafka).admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    return {
      access,
      api,
      client,
      namespace,
      topic,
      group,
      effectsDir,
      config,
      node,
      replicaHistory,
      async produce(count, campaigns = Math.max(1, Math.ceil(count / 10))) {
        const keys = Array.from({ length: campaigns }, () => crypto.randomUUID());
        const jobs = Array.from({ length: count }, (_, i) => emailJob(keys[i % campaigns]!));
        for (let start = 0; start < jobs.length; start += 500) {
          await produce(config, jobs.slice(start, start + 500));
        }
        return jobs.map((job) => job.id);
      },
      lag: () => groupLag(admin, topic, group),
      effects: () => readEffects(effectsDir),
      resizes: () => readResizes(effectsDir),
      kedaMetric: () => kedaMetric(namespace),
      close,
      [Symbol.asyncDispose]: close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Options of {@linkcode poolSpec}. */
export interface PoolSpecOptions {
  /** Milliseconds each job takes in the fixture worker. @default 100 */
  jobMs?: number;
  /** Fields of `spec` to set or override (`kafka` is merged one level deep). */
  spec?: Record<string, unknown>;
}

/** A JobWorkerPool for `stack`'s topic and group, running the fixture worker. */
export function poolManifest(
  stack: ScalingStack,
  name: string,
  options: PoolSpecOptions = {},
): KubeObject {
  const { kafka, ...rest } = (options.spec ?? {}) as { kafka?: Record<string, unknown> };
  return {
    apiVersion: "jobpool.dev/v1alpha1",
    kind: "JobWorkerPool",
    metadata: { name, namespace: stack.namespace },
    spec: {
      image: "jobpool/worker:scaling-test",
      kafka: {
        bootstrapServers: kafkaBrokers(),
        topic: { name: stack.topic, partitions: 12, replicationFactor: 1 },
        consumerGroup: stack.group,
        ...kafka,
      },
      env: [
        { name: "JOBPOOL_FIXTURE_EFFECTS_DIR", value: stack.effectsDir },
        { name: "JOBPOOL_FIXTURE_JOB_MS", value: String(options.jobMs ?? 100) },
        { name: "SHUTDOWN_TIMEOUT_MS", value: "5000" },
        { name: "KAFKA_COMMIT_INTERVAL_MS", value: "200" },
      ],
      ...rest,
    },
  };
}

/** Creates (applies) a pool. */
export async function createPool(stack: ScalingStack, pool: KubeObject): Promise<void> {
  await applyObjects(stack.access, pool);
}

/** A Secret in the stack's namespace. */
export async function createSecret(
  stack: ScalingStack,
  name: string,
  data: Record<string, string>,
): Promise<void> {
  await applyObjects(stack.access, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: stack.namespace },
    stringData: data,
  });
}

/** The pool's Deployment, ScaledObject or HPA (`kind/name`), or undefined. */
export function getObject(stack: ScalingStack, what: string): Promise<KubeObject | undefined> {
  return getJson(stack.access, [what, "-n", stack.namespace]);
}

async function groupLag(admin: Admin, topic: string, group: string): Promise<number> {
  const [ends, [committed]] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId: group, topics: [topic] }),
  ]);
  let lag = 0;
  for (const end of ends) {
    const offset = Number(committed?.partitions.find((p) => p.partition === end.partition)?.offset);
    lag += Number(end.high) - (offset >= 0 ? offset : Number(end.low));
  }
  return lag;
}

async function readEffects(dir: string): Promise<{ deliveries: string[]; effects: Set<string> }> {
  const deliveries: string[] = [];
  const effects = new Set<string>();
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.startsWith("deliveries-")) continue;
    const text = await Deno.readTextFile(join(dir, entry.name));
    deliveries.push(...text.split("\n").filter((line) => line.length === 36));
  }
  try {
    for await (const entry of Deno.readDir(join(dir, "effects"))) effects.add(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return { deliveries, effects };
}

async function readResizes(dir: string): Promise<[number, number][][]> {
  const processes: [number, number][][] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.startsWith("resizes-")) continue;
    const text = await Deno.readTextFile(join(dir, entry.name));
    processes.push(
      text.split("\n").filter(Boolean).map((line) =>
        line.split(" ").map(Number) as [number, number]
      ),
    );
  }
  return processes;
}

/** Reads KEDA's own view of the namespace's scaler from its operator's metrics. */
async function kedaMetric(
  namespace: string,
): Promise<{ value: number; active: boolean } | undefined> {
  const text = await (await fetch(keda().metricsUrl)).text();
  const find = (metric: string) =>
    text.split("\n").find((line) =>
      line.startsWith(`${metric}{`) && line.includes(`namespace="${namespace}"`)
    );
  const value = find("keda_scaler_metrics_value");
  const active = find("keda_scaler_active");
  if (!value || !active) return undefined;
  return {
    value: Number(value.split(" ").at(-1)),
    active: Number(active.split(" ").at(-1)) === 1,
  };
}
