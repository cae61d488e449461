/**
 * Running helm (from `test/env/services.ts`) for integration tests, with its
 * cache, config and data folders kept out of the user's home, and reading what
 * it renders.
 *
 * @module
 */

import { join } from "node:path";
import { Yaml } from "cdk8s";
import { kube } from "./services.ts";

/** What a helm call printed. */
export interface HelmResult {
  success: boolean;
  stdout: string;
  stderr: string;
}

/** Options of {@linkcode helm}. */
export interface HelmCallOptions {
  /** The folder for helm's cache, config and data; a temporary one, removed afterwards, by default. */
  home?: string | undefined;
  /** The kubeconfig helm talks to the cluster with; none (no `--kubeconfig` flag) by default. */
  kubeconfig?: string | undefined;
}

/** Runs the test run's helm; never throws on a failed command. */
export async function helm(args: string[], options: HelmCallOptions = {}): Promise<HelmResult> {
  const home = options.home ?? await Deno.makeTempDir({ prefix: "jobpool-helm-" });
  try {
    const output = await new Deno.Command(kube().helm, {
      args: options.kubeconfig === undefined
        ? args
        : [`--kubeconfig=${options.kubeconfig}`, ...args],
      env: {
        HELM_CACHE_HOME: join(home, "cache"),
        HELM_CONFIG_HOME: join(home, "config"),
        HELM_DATA_HOME: join(home, "data"),
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      success: output.success,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } finally {
    if (options.home === undefined) await Deno.remove(home, { recursive: true });
  }
}

/** Like {@linkcode helm}, but throws with helm's error output when it fails; returns stdout. */
export async function helmOk(args: string[], options: HelmCallOptions = {}): Promise<string> {
  const result = await helm(args, options);
  if (!result.success) {
    throw new Error(`helm ${args.join(" ")} failed: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

/** Parses multi-document YAML (helm output, chart files) into its documents, empty ones left out. */
export async function parseYaml<T>(text: string): Promise<T[]> {
  const file = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    await Deno.writeTextFile(file, text);
    return (Yaml.load(file) as (T | null)[]).filter((doc): doc is T => !!doc);
  } finally {
    await Deno.remove(file);
  }
}
