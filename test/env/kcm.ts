/**
 * A real kube-controller-manager for tests, running only the controllers the
 * autoscaling loop needs: `deployment` (Deployments → ReplicaSets, their
 * status), `replicaset` (ReplicaSets → Pods) and `horizontalpodautoscaling`
 * (KEDA's HPA → the Deployment's `spec.replicas`). No scheduler and no
 * kubelet run: Pods stay unscheduled unless a test plays the node (see
 * `test/env/kubelet.ts`).
 *
 * Built from the same `k8s.io/kubernetes` version and wrapper module recipe
 * as kube-apiserver (see `kube.ts`) and cached beside it.
 *
 * @module
 */

import { createCertificateAuthority, issueCertificate } from "./certs.ts";
import { ensureControllerManager, KUBE_VERSION, type KubeService } from "./kube.ts";
import { freePort, startProcess, waitFor } from "./process.ts";

/** The controllers the test controller-manager runs. */
export const CONTROLLERS = ["deployment", "replicaset", "horizontalpodautoscaling"] as const;

/** Options of {@linkcode startControllerManager}. */
export interface StartControllerManagerOptions {
  /** The API server to work against (as its admin). */
  kube: KubeService;
  /** Folder for `kube-controller-manager.log`. */
  logDir: string;
  /** Seconds between two HPA evaluations (upstream default 15). @default 2 */
  hpaSyncSeconds?: number;
  /**
   * How long the HPA keeps the highest recent recommendation before scaling
   * down, for HPAs without their own `behavior` (upstream default 300).
   * @default 10
   */
  downscaleStabilizationSeconds?: number;
}

/** A running kube-controller-manager. */
export interface ControllerManagerService {
  /** The Kubernetes version it was built as. */
  version: string;
  /** Its log file. */
  logPath: string;
  /** The HPA settings it runs with, for tests that reason about counts. */
  hpa: { syncSeconds: number; downscaleStabilizationSeconds: number };
  /** Stops it and removes its certificates. */
  stop(): Promise<void>;
}

/**
 * Starts kube-controller-manager with {@linkcode CONTROLLERS} and short HPA
 * timings, and waits until its `/healthz` answers.
 *
 * @throws {ServiceStartError} Naming `kube-controller-manager` when it does not come up.
 */
export async function startControllerManager(
  options: StartControllerManagerOptions,
): Promise<ControllerManagerService> {
  const binary = await ensureControllerManager();
  const tmp = await Deno.makeTempDir({ prefix: "jobpool-kcm-" });
  const syncSeconds = options.hpaSyncSeconds ?? 2;
  const downscaleStabilizationSeconds = options.downscaleStabilizationSeconds ?? 10;
  try {
    // Its own serving certificate, so the readiness probe can verify it.
    const ca = await createCertificateAuthority(tmp, "kcm-ca");
    const serving = await issueCertificate(ca, tmp, "kcm", {
      commonName: "kube-controller-manager",
      hosts: ["127.0.0.1", "localhost"],
      usage: "server",
    });
    const port = freePort();
    const kubeconfig = options.kube.kubeconfigPath;
    const process = await startProcess({
      name: "kube-controller-manager",
      command: binary,
      args: [
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        `--controllers=${CONTROLLERS.join(",")}`,
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        `--secure-port=${port}`,
        `--tls-cert-file=${serving.certFile}`,
        `--tls-private-key-file=${serving.keyFile}`,
        `--horizontal-pod-autoscaler-sync-period=${syncSeconds}s`,
        `--horizontal-pod-autoscaler-downscale-stabilization=${downscaleStabilizationSeconds}s`,
        "--profiling=false",
        "--v=2",
      ],
      logDir: options.logDir,
    });
    const client = Deno.createHttpClient({ caCerts: [ca.certPem] });
    try {
      await waitFor(async () => {
        const response = await fetch(`https://127.0.0.1:${port}/healthz`, { client });
        return response.ok && (await response.text()).trim() === "ok";
      }, {
        timeoutMs: 60_000,
        what: `kube-controller-manager /healthz on 127.0.0.1:${port}`,
        process,
      });
    } catch (error) {
      await process.stop();
      throw error;
    } finally {
      client.close();
    }
    return {
      version: KUBE_VERSION,
      logPath: process.logPath,
      hpa: { syncSeconds, downscaleStabilizationSeconds },
      async stop() {
        await process.stop();
        await Deno.remove(tmp, { recursive: true }).catch(() => {});
      },
    };
  } catch (error) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw error;
  }
}
