import assert from "node:assert/strict";
import { join } from "node:path";
import { loadKubeConnection } from "./kube_config.ts";

Deno.test("loadKubeConnection in a cluster reads the service account without client-node", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "token"), "token-1\n");
    await Deno.writeTextFile(join(dir, "ca.crt"), "-----BEGIN CERTIFICATE-----\n");
    const connection = await loadKubeConnection({
      env: { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "6443" },
      serviceAccountDir: dir,
    });
    assert.equal(connection.server, "https://10.0.0.1:6443");
    assert.match(connection.caCert ?? "", /BEGIN CERTIFICATE/);
    assert.deepEqual(await connection.headers(), { authorization: "Bearer token-1" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadKubeConnection outside a cluster without KUBECONFIG says what to set", async () => {
  await assert.rejects(loadKubeConnection({ env: {} }), /set KUBECONFIG/);
});

Deno.test("loadKubeConnection reads a kubeconfig file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "config.json");
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "c", cluster: { server: "https://127.0.0.1:6443/" } }],
        users: [{ name: "u", user: { token: "secret" } }],
        contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
        "current-context": "x",
      }),
    );
    const connection = await loadKubeConnection({ kubeconfigPath: path });
    assert.equal(connection.server, "https://127.0.0.1:6443");
    assert.equal((await connection.headers())["Authorization"], "Bearer secret");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
