/**
 * Running kubectl against the test run's kube-apiserver (from
 * `test/env/services.ts`), for integration tests.
 *
 * @module
 */

import { kube } from "./services.ts";

/** What a kubectl call printed. */
export interface KubectlResult {
  success: boolean;
  stdout: string;
  stderr: string;
}

/** Options of {@linkcode kubectl}. */
export interface KubectlCallOptions {
  /** Text fed to kubectl's standard input (for `-f -`). */
  stdin?: string | undefined;
  /** Another identity's kubeconfig; the admin's by default. */
  kubeconfig?: string | undefined;
  /** Another kubectl binary (for a server the test run did not start); the test run's by default. */
  kubectlPath?: string | undefined;
}

/** Runs kubectl as the test run's admin (or `options.kubeconfig`); never throws on failure. */
export async function kubectl(
  args: string[],
  options: KubectlCallOptions = {},
): Promise<KubectlResult> {
  const kubectlPath = options.kubectlPath ?? kube().kubectl;
  const kubeconfig = options.kubeconfig ?? kube().kubeconfig;
  const child = new Deno.Command(kubectlPath, {
    args: [`--kubeconfig=${kubeconfig}`, ...args],
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    success: output.success,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/**
 * Like {@linkcode kubectl}, but throws with kubectl's error output when it
 * fails; returns all it printed (for warnings on stderr).
 */
export async function kubectlChecked(
  args: string[],
  options: KubectlCallOptions = {},
): Promise<KubectlResult> {
  const result = await kubectl(args, options);
  if (!result.success) {
    throw new Error(`kubectl ${args.join(" ")} failed: ${result.stderr.trim()}`);
  }
  return result;
}

/** Like {@linkcode kubectl}, but throws with kubectl's error output when it fails; returns stdout. */
export async function kubectlOk(
  args: string[],
  options: KubectlCallOptions = {},
): Promise<string> {
  return (await kubectlChecked(args, options)).stdout;
}
