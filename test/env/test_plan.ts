/**
 * Which test files need which services: the test runner (`test/run.ts`)
 * runs the tests in phases, each with only the services it needs, so that
 * the autoscaling components (KEDA, kube-controller-manager), which act on
 * every Deployment and ScaledObject they see, never run beside the other
 * tests and are only built and started when a scaling test is selected.
 *
 * @module
 */

import { join, relative, resolve } from "node:path";

/** The services the test environment can start. */
export const ALL_SERVICES = ["kafka", "postgres", "redis", "kube", "keda", "kcm"] as const;

/** One of {@linkcode ALL_SERVICES}. */
export type ServiceName = typeof ALL_SERVICES[number];

/** Services a service cannot start without. */
export const SERVICE_NEEDS: Partial<Record<ServiceName, ServiceName[]>> = {
  keda: ["kube"],
  kcm: ["kube"],
};

/** A test file that needs the autoscaling loop: `scaling_<name>_test.ts`. */
export const SCALING_TEST = /(^|\/)scaling_[^/]*_test\.ts$/;

/** The services of every test but the scaling ones. */
export const BASE_SERVICES: readonly ServiceName[] = ["kafka", "postgres", "redis", "kube"];

/** The services of the scaling tests. */
export const SCALING_SERVICES: readonly ServiceName[] = ["kafka", "kube", "keda", "kcm"];

/** One run of `deno test` with its services. */
export interface TestPhase {
  /** A short name for messages, e.g. `scaling`. */
  name: string;
  services: ServiceName[];
  /** Arguments for `deno test` after the permission flags. */
  args: string[];
}

/** What `deno test` treats as a test file (its default pattern). */
const TEST_FILE = /(^|[/_.])test\.(ts|tsx|mts|js|mjs|jsx)$/;

/** The test files under `paths` (files or folders), relative to `root`. */
export async function testFiles(paths: string[], root: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (path: string) => {
    const info = await Deno.stat(path);
    if (info.isFile) {
      files.push(relative(root, path));
      return;
    }
    for await (const entry of Deno.readDir(path)) {
      if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
      const child = join(path, entry.name);
      if (entry.isDirectory) await walk(child);
      else if (entry.isFile && TEST_FILE.test(entry.name)) files.push(relative(root, child));
    }
  };
  for (const path of paths) await walk(resolve(root, path));
  return files.sort();
}

/**
 * The phases for `paths` without an explicit service list: the scaling test
 * files among them with {@linkcode SCALING_SERVICES}, everything else with
 * {@linkcode BASE_SERVICES}. A phase without test files is left out.
 */
export function planPhases(paths: string[], files: string[]): TestPhase[] {
  const scaling = files.filter((file) => SCALING_TEST.test(file));
  const others = files.filter((file) => !SCALING_TEST.test(file));
  const phases: TestPhase[] = [];
  if (others.length > 0) {
    // The files, not the folders with `--ignore`: deno 2.9 applies `--ignore`
    // only when the ignored file lies under the first folder given.
    phases.push({
      name: "main",
      services: [...BASE_SERVICES],
      args: scaling.length > 0 ? others : paths,
    });
  }
  if (scaling.length > 0) {
    phases.push({ name: "scaling", services: [...SCALING_SERVICES], args: scaling });
  }
  return phases;
}

/** `services` plus what they need, in {@linkcode ALL_SERVICES} order. */
export function withNeeds(services: ServiceName[]): ServiceName[] {
  const wanted = new Set(services);
  for (const service of services) for (const need of SERVICE_NEEDS[service] ?? []) wanted.add(need);
  return ALL_SERVICES.filter((service) => wanted.has(service));
}
