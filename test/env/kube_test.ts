/**
 * Proves the real Kubernetes API harness: kube-apiserver + etcd come up, the
 * tools talk to them, the upstream CRDs validate for real and RBAC denies.
 *
 * Run: `deno test --allow-all test/env/kube_test.ts`
 *
 * @module
 */

import { CRD_FIXTURES, KUBE_VERSION, startKube } from "./kube.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
  throw new Error("expected a failure, but the command succeeded");
}

const scaledObject = (spec: Record<string, unknown>) =>
  JSON.stringify({
    apiVersion: "keda.sh/v1alpha1",
    kind: "ScaledObject",
    metadata: { name: "jobpool-worker", namespace: "default" },
    spec,
  });

Deno.test("real Kubernetes API: versions, CRDs, schema validation, RBAC", async (t) => {
  const logDir = await Deno.makeTempDir({ prefix: "jobpool-kube-test-logs-" });
  const started = Date.now();
  const kube = await startKube({ logDir });
  console.log(
    `kube-apiserver ${kube.version} at ${kube.server} ready with CRDs in ` +
      `${((Date.now() - started) / 1000).toFixed(1)} s (logs: ${logDir})`,
  );
  try {
    await t.step("the server reports the version it was built as", async () => {
      assert(kube.version === KUBE_VERSION, `version ${kube.version}, want ${KUBE_VERSION}`);
      const raw = JSON.parse(await kube.kubectl(["get", "--raw", "/version"])) as {
        gitVersion: string;
      };
      assert(raw.gitVersion === KUBE_VERSION, `/version says ${raw.gitVersion}`);
    });

    await t.step("kubectl version sees client and server", async () => {
      const versions = JSON.parse(await kube.kubectl(["version", "-o", "json"])) as {
        clientVersion: { gitVersion: string };
        serverVersion: { gitVersion: string };
      };
      console.log(
        `kubectl ${versions.clientVersion.gitVersion}, server ${versions.serverVersion.gitVersion}`,
      );
      assert(versions.serverVersion.gitVersion === KUBE_VERSION, "kubectl sees another server");
    });

    await t.step("helm runs and reaches the server", async () => {
      const version = (await kube.helm(["version", "--short"])).trim();
      console.log(`helm ${version}`);
      assert(/^v3\./.test(version), `unexpected helm version ${version}`);
      const releases = JSON.parse(await kube.helm(["list", "--all-namespaces", "-o", "json"]));
      assert(Array.isArray(releases) && releases.length === 0, "expected no helm releases");
    });

    await t.step("the KEDA and Strimzi CRDs are established", async () => {
      for (const crd of ["scaledobjects.keda.sh", "kafkatopics.kafka.strimzi.io"]) {
        const established = await kube.kubectl([
          "get",
          "crd",
          crd,
          "-o",
          'jsonpath={.status.conditions[?(@.type=="Established")].status}',
        ]);
        assert(established === "True", `${crd} Established=${established}`);
      }
      const served = await kube.kubectl([
        "get",
        "crd",
        "kafkatopics.kafka.strimzi.io",
        "-o",
        "jsonpath={.spec.versions[*].name}",
      ]);
      assert(served === "v1", `Strimzi KafkaTopic versions: ${served}`);
    });

    await t.step("a valid ScaledObject with a kafka trigger is stored", async () => {
      const manifest = scaledObject({
        scaleTargetRef: { name: "jobpool-worker" },
        minReplicaCount: 0,
        maxReplicaCount: 5,
        triggers: [{
          type: "kafka",
          metadata: {
            bootstrapServers: "kafka:9092",
            consumerGroup: "jobpool",
            topic: "jobs",
            lagThreshold: "50",
          },
        }],
      });
      await kube.kubectl(["apply", "--server-side", "-f", "-"], { stdin: manifest });
      const trigger = await kube.kubectl([
        "get",
        "scaledobject",
        "jobpool-worker",
        "-o",
        "jsonpath={.spec.triggers[0].type}",
      ]);
      assert(trigger === "kafka", `stored trigger type ${trigger}`);
    });

    await t.step("invalid ScaledObjects are rejected by the real schema", async () => {
      const missing = await rejection(
        kube.kubectl(["apply", "--server-side", "--dry-run=server", "-f", "-"], {
          stdin: scaledObject({ triggers: [{ metadata: { topic: "jobs" } }] }),
        }),
      );
      for (const expected of ["spec.scaleTargetRef: Required value", "spec.triggers[0].type"]) {
        assert(missing.message.includes(expected), `rejection lacks ${expected}: ${missing}`);
      }
      const mistyped = await rejection(
        kube.kubectl(["create", "--dry-run=server", "-f", "-"], {
          stdin: scaledObject({
            scaleTargetRef: { name: "jobpool-worker" },
            maxReplicaCount: "five",
            triggers: [{ type: "kafka", metadata: { topic: "jobs" } }],
          }),
        }),
      );
      assert(
        /spec\.maxReplicaCount.*integer/.test(mistyped.message),
        `rejection lacks the maxReplicaCount type error: ${mistyped}`,
      );
    });

    await t.step("a KafkaTopic v1 is accepted", async () => {
      const manifest = JSON.stringify({
        apiVersion: "kafka.strimzi.io/v1",
        kind: "KafkaTopic",
        metadata: { name: "jobs", namespace: "default", labels: { "strimzi.io/cluster": "k" } },
        spec: { partitions: 3, replicas: 1 },
      });
      await kube.kubectl(["apply", "--server-side", "--dry-run=server", "-f", "-"], {
        stdin: manifest,
      });
    });

    await t.step("a ServiceAccount token authenticates and RBAC denies it secrets", async () => {
      const token = await kube.createServiceAccountToken("jobpool-rbac", "reader");
      const kubeconfig = await kube.kubeconfigFor(token);
      const whoami = JSON.parse(
        await kube.kubectl(["auth", "whoami", "-o", "json"], { kubeconfig }),
      ) as { status: { userInfo: { username: string } } };
      const username = whoami.status.userInfo.username;
      assert(
        username === "system:serviceaccount:jobpool-rbac:reader",
        `token authenticates as ${username}`,
      );
      const denied = await rejection(
        kube.kubectl(["get", "secrets", "--namespace=jobpool-rbac"], { kubeconfig }),
      );
      assert(/forbidden/i.test(denied.message), `expected Forbidden, got: ${denied.message}`);
      // The admin still may.
      await kube.kubectl(["get", "secrets", "--namespace=jobpool-rbac"]);
    });
  } finally {
    await kube.stop();
  }
  await Deno.remove(logDir, { recursive: true });
});

Deno.test("real Kubernetes API: the Strimzi 0.49.1 CRD variant serves v1beta2", async () => {
  const logDir = await Deno.makeTempDir({ prefix: "jobpool-kube-test-logs-" });
  const both = await rejection(startKube({
    logDir,
    crds: [CRD_FIXTURES.strimziKafkaTopicsV1, CRD_FIXTURES.strimziKafkaTopicsV1beta2],
  }));
  assert(/same CRD/.test(both.message), `installing both Strimzi files: ${both.message}`);

  const kube = await startKube({ logDir, crds: [CRD_FIXTURES.strimziKafkaTopicsV1beta2] });
  try {
    const served = await kube.kubectl([
      "get",
      "crd",
      "kafkatopics.kafka.strimzi.io",
      "-o",
      "jsonpath={.spec.versions[?(@.served==true)].name}",
    ]);
    assert(served === "v1 v1beta2 v1beta1 v1alpha1", `served versions: ${served}`);
    for (const apiVersion of ["kafka.strimzi.io/v1beta2", "kafka.strimzi.io/v1"]) {
      await kube.kubectl(["apply", "--server-side", "-f", "-"], {
        stdin: JSON.stringify({
          apiVersion,
          kind: "KafkaTopic",
          metadata: { name: "jobs", namespace: "default", labels: { "strimzi.io/cluster": "k" } },
          spec: { partitions: 3, replicas: 1 },
        }),
      });
    }
  } finally {
    await kube.stop();
  }
  await Deno.remove(logDir, { recursive: true });
});
