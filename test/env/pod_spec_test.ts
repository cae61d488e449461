import assert from "node:assert/strict";
import { join } from "node:path";
import type { KubeRest } from "./kube_rest.ts";
import { containerEnv, localPort, type PodObject, writeVolumes } from "./pod_spec.ts";

/** Answers GETs of Secrets and ConfigMaps from a table; anything else is a test bug. */
function fakeApi(objects: Record<string, Record<string, string>>): KubeRest {
  return {
    request(method, path) {
      const data = objects[path];
      if (method !== "GET" || !data) throw new Error(`unexpected ${method} ${path}`);
      return Promise.resolve({ data });
    },
    watch: () => {
      throw new Error("no watch in this test");
    },
    close() {},
  };
}

const base64 = (text: string) => btoa(text);

const pod: PodObject = {
  metadata: { name: "worker-abc", namespace: "jobs", uid: "u1" },
  spec: {
    containers: [{
      name: "worker",
      ports: [{ containerPort: 9090, name: "metrics" }],
      env: [
        { name: "METRICS_PORT", value: "9090" },
        { name: "OTHER", value: "9090" },
        { name: "KAFKA_TLS_CA_FILE", value: "/etc/jobpool/kafka-ca/ca.crt" },
        { name: "TMP_FILE", value: "/tmp/x" },
        { name: "KAFKA_SASL_PASSWORD", valueFrom: { secretKeyRef: { name: "user", key: "pw" } } },
        { name: "LEVEL", valueFrom: { configMapKeyRef: { name: "settings", key: "level" } } },
        { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      ],
      envFrom: [{ prefix: "APP_", secretRef: { name: "app" } }],
      volumeMounts: [
        { name: "kafka-ca", mountPath: "/etc/jobpool/kafka-ca" },
        { name: "tmp", mountPath: "/tmp" },
      ],
    }],
    volumes: [
      {
        name: "kafka-ca",
        secret: { secretName: "ca", items: [{ key: "ca.pem", path: "ca.crt" }] },
      },
      { name: "tmp" },
    ],
  },
};

Deno.test("a Pod's container becomes a local process environment", async () => {
  const api = fakeApi({
    "/api/v1/namespaces/jobs/secrets/user": { pw: base64("s3cret") },
    "/api/v1/namespaces/jobs/secrets/app": { TOKEN: base64("t") },
    "/api/v1/namespaces/jobs/secrets/ca": { "ca.pem": base64("-----BEGIN CERTIFICATE-----") },
    "/api/v1/namespaces/jobs/configmaps/settings": { level: "debug" },
  });
  const dir = await Deno.makeTempDir();
  try {
    const container = pod.spec.containers[0]!;
    const volumes = await writeVolumes(api, pod, container, dir);
    const caDir = join(dir, "volumes", "kafka-ca");
    assert.deepEqual([...volumes], [["/etc/jobpool/kafka-ca", caDir]]);
    assert.equal(await Deno.readTextFile(join(caDir, "ca.crt")), "-----BEGIN CERTIFICATE-----");
    const ports = new Map([[9090, 41234]]);
    assert.equal(localPort(container, ports, "metrics"), 41234);
    assert.deepEqual(await containerEnv(api, pod, container, { ports, volumes }), {
      APP_TOKEN: "t",
      METRICS_PORT: "41234",
      OTHER: "9090",
      KAFKA_TLS_CA_FILE: join(caDir, "ca.crt"),
      TMP_FILE: "/tmp/x",
      KAFKA_SASL_PASSWORD: "s3cret",
      LEVEL: "debug",
      POD_NAME: "worker-abc",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
