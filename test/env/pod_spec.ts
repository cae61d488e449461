/**
 * How the node stand-in (`kubelet.ts`) turns a Pod's container spec into a
 * local process: its environment (values, Secret and ConfigMap references,
 * `envFrom`, `fieldRef` for the Pod's name and namespace), its Secret
 * volumes written to a folder, and its container ports mapped to free
 * loopback ports (every Pod shares the host's network).
 *
 * @module
 */

import { join } from "node:path";
import type { KubeRest } from "./kube_rest.ts";

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

/** One `env` entry of a container. */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}

/** The parts of a Pod the node uses. */
export interface PodObject {
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

/** The container's port `port` (a number or a port name) on the loopback. */
export function localPort(
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
export async function writeVolumes(
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

/**
 * The container's environment, references resolved; a variable whose name
 * ends in `PORT` and whose value is a container port gets the local port,
 * and a value starting with a Secret volume's mount path gets its folder.
 */
export async function containerEnv(
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
