import assert from "node:assert/strict";
import { newJobWorkerPool } from "../api/mod.ts";
import { synthesizeInstall } from "./install.ts";
import { synthesizePool } from "./synthesize.ts";

type Container = {
  securityContext?: Record<string, unknown>;
  volumeMounts?: { mountPath: string }[];
};

function containersOf(deployment: unknown): Container[] {
  return (deployment as { spec: { template: { spec: { containers: Container[] } } } }).spec
    .template.spec.containers;
}

Deno.test("worker and operator containers share the restricted settings and a writable /tmp", () => {
  const worker = synthesizePool(
    newJobWorkerPool({ name: "w", namespace: "ns" }, {
      image: "example/worker:1",
      kafka: { bootstrapServers: ["kafka:9092"] },
    }),
  ).deployment;
  const operator = synthesizeInstall().operator.find((object) => object.kind === "Deployment");
  for (const container of [...containersOf(worker), ...containersOf(operator)]) {
    assert.deepEqual(container.securityContext, {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    assert.ok(container.volumeMounts?.some((mount) => mount.mountPath === "/tmp"));
  }
});
