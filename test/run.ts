/**
 * `deno task test`: starts the real services (Kafka 4.x, PostgreSQL, Redis, a
 * kube-apiserver with etcd; KEDA and kube-controller-manager for the
 * scaling tests), runs every test against them and tears them down.
 *
 * Usage: `deno task test [--services kafka,postgres,redis,kube,keda,kcm] [--keep-logs] [paths…]`
 *
 * Without `--services` the tests run in phases (see `env/test_plan.ts`): the
 * scaling tests (`scaling_*_test.ts`) with Kafka, a kube-apiserver of their
 * own, KEDA and kube-controller-manager; every other test with Kafka,
 * PostgreSQL, Redis and the kube-apiserver. KEDA and kube-controller-manager
 * are only built and started when a scaling test is selected; their builds
 * start at once and run beside the first phase.
 *
 * A service that fails to start fails the run, naming the service and
 * showing its log; nothing is skipped.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startKafka } from "./env/kafka.ts";
import { startPostgres } from "./env/postgres.ts";
import { startRedis } from "./env/redis.ts";
import {
  ensureControllerManager,
  ensureKubeBinaries,
  type KubeService,
  startKube,
} from "./env/kube.ts";
import { ensureKedaBinaries, startKeda } from "./env/keda.ts";
import { CONTROLLERS, startControllerManager } from "./env/kcm.ts";
import { ServiceStartError } from "./env/process.ts";
import { SERVICE_VARIABLES } from "./env/services.ts";
import {
  ALL_SERVICES,
  planPhases,
  type ServiceName,
  testFiles,
  type TestPhase,
  withNeeds,
} from "./env/test_plan.ts";

interface Started {
  env: Record<string, string>;
  describe: string;
  stop(): Promise<void>;
  logPath?: string;
}

const DEFAULT_PATHS = ["src/", "operator/", "test/"];
const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** What a service may need of the services started before it. */
interface StartContext {
  logDir: string;
  /** The phase's kube-apiserver, for KEDA and kube-controller-manager. */
  kube?: KubeService;
  /** Whether the kube-apiserver must serve aggregated APIs (KEDA's adapter). */
  aggregation: boolean;
}

async function startService(name: ServiceName, context: StartContext): Promise<Started> {
  const { logDir } = context;
  const began = performance.now();
  const seconds = () => ((performance.now() - began) / 1000).toFixed(1);
  switch (name) {
    case "kafka": {
      const kafka = await startKafka({ logDir });
      return {
        describe: `Kafka ${kafka.version} (KRaft) at ${kafka.brokers.join(",")} in ${seconds()} s`,
        logPath: kafka.logPath,
        stop: () => kafka.stop(),
        env: {
          [SERVICE_VARIABLES.kafkaBrokers]: kafka.brokers.join(","),
          [SERVICE_VARIABLES.kafkaVersion]: kafka.version,
          [SERVICE_VARIABLES.kafkaSaslBrokers]: kafka.saslBrokers.join(","),
          [SERVICE_VARIABLES.kafkaSaslUser]: kafka.saslUser,
          [SERVICE_VARIABLES.kafkaSaslPassword]: kafka.saslPassword,
          [SERVICE_VARIABLES.kafkaTlsBrokers]: kafka.tlsBrokers.join(","),
          [SERVICE_VARIABLES.kafkaTlsCa]: kafka.tlsCaPem,
        },
      };
    }
    case "postgres": {
      const postgres = await startPostgres({ logDir });
      return {
        describe: `${postgres.version.split(" on ")[0]} on port ${postgres.port} in ${seconds()} s`,
        logPath: join(logDir, "postgres.log"),
        stop: () => postgres.stop(),
        env: { [SERVICE_VARIABLES.databaseUrl]: postgres.url },
      };
    }
    case "redis": {
      const redis = await startRedis({ logDir });
      return {
        describe: `Redis ${redis.version} on port ${redis.port} in ${seconds()} s`,
        logPath: join(logDir, "redis.log"),
        stop: () => redis.stop(),
        env: { [SERVICE_VARIABLES.redisUrl]: redis.url },
      };
    }
    case "kube": {
      const binaries = await ensureKubeBinaries();
      const kube = await startKube({ logDir, aggregation: context.aggregation });
      context.kube = kube;
      return {
        describe: `kube-apiserver ${kube.version} with etcd at ${kube.server} in ${seconds()} s`,
        logPath: join(logDir, "kube-apiserver.log"),
        stop: () => kube.stop(),
        env: {
          [SERVICE_VARIABLES.kubeconfig]: kube.kubeconfigPath,
          [SERVICE_VARIABLES.kubeServer]: kube.server,
          [SERVICE_VARIABLES.kubeToken]: kube.token,
          [SERVICE_VARIABLES.kubectl]: binaries.kubectl,
          [SERVICE_VARIABLES.helm]: binaries.helm,
        },
      };
    }
    case "keda": {
      const keda = await startKeda({ kube: needKube(context, "keda"), logDir });
      return {
        describe: `KEDA ${keda.version} (operator and metrics adapter) in ${seconds()} s`,
        logPath: keda.logPaths.join(", "),
        stop: () => keda.stop(),
        env: {
          [SERVICE_VARIABLES.kedaVersion]: keda.version,
          [SERVICE_VARIABLES.kedaMetricsUrl]: keda.operatorMetricsUrl,
        },
      };
    }
    case "kcm": {
      const kcm = await startControllerManager({ kube: needKube(context, "kcm"), logDir });
      return {
        describe: `kube-controller-manager ${kcm.version} (${CONTROLLERS.join(", ")}; HPA sync ` +
          `${kcm.hpa.syncSeconds} s, downscale stabilization ` +
          `${kcm.hpa.downscaleStabilizationSeconds} s) in ${seconds()} s`,
        logPath: kcm.logPath,
        stop: () => kcm.stop(),
        env: {
          [SERVICE_VARIABLES.hpaSyncSeconds]: String(kcm.hpa.syncSeconds),
          [SERVICE_VARIABLES.hpaDownscaleStabilizationSeconds]: String(
            kcm.hpa.downscaleStabilizationSeconds,
          ),
        },
      };
    }
  }
}

function needKube(context: StartContext, service: string): KubeService {
  if (!context.kube) throw new Error(`The ${service} service needs the kube service`);
  return context.kube;
}

/** Reads `deno test`'s closing line: `ok | 12 passed (3 steps) | 0 failed (4s)`. */
export function parseSummary(output: string): { passed: number; failed: number } | undefined {
  // deno-lint-ignore no-control-regex -- strips the colour codes deno test prints
  const plain = output.replaceAll(/\x1b\[[0-9;]*m/g, "");
  const match = [...plain.matchAll(/\| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/g)].at(-1);
  if (!match) return undefined;
  return { passed: Number(match[1]), failed: Number(match[2]) };
}

async function runTests(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; passed: number; failed: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", ...args],
    env,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let output = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    await Deno.stdout.write(chunk);
    output += decoder.decode(chunk, { stream: true });
    if (output.length > 200_000) output = output.slice(-100_000);
  }
  const status = await child.status;
  const summary = parseSummary(output) ?? { passed: 0, failed: 0 };
  return { code: status.code, ...summary };
}

/**
 * Starts a phase's services (those that need the kube-apiserver after it),
 * runs its tests and stops the services. A service that fails to start fails
 * the phase before any test runs.
 */
async function runPhase(
  phase: TestPhase,
  logDir: string,
  builds: Promise<void> | undefined,
): Promise<{ code: number; passed: number; failed: number }> {
  const started: Started[] = [];
  try {
    console.log(`\nStarting test services (${phase.name}): ${phase.services.join(", ")}`);
    const context: StartContext = { logDir, aggregation: phase.services.includes("keda") };
    const first = phase.services.filter((s) => s !== "keda" && s !== "kcm");
    const second = phase.services.filter((s) => s === "keda" || s === "kcm");
    const failures: unknown[] = [];
    for (const group of [first, second]) {
      if (group === second && second.length > 0) {
        await builds?.catch((error) => failures.push(error));
      }
      if (failures.length > 0) break;
      const results = await Promise.allSettled(group.map((s) => startService(s, context)));
      for (const result of results) {
        if (result.status === "fulfilled") started.push(result.value);
        else failures.push(result.reason);
      }
    }
    if (failures.length > 0) {
      for (const failure of failures) console.error(`\n${failure}`);
      console.error(`\nA test service failed to start; no test of phase "${phase.name}" was run.`);
      return { code: 1, passed: 0, failed: 0 };
    }
    for (const service of started) console.log(`  - ${service.describe}`);
    const env = Object.assign({}, ...started.map((s) => s.env)) as Record<string, string>;
    return await runTests(phase.args, env);
  } finally {
    await Promise.allSettled(started.reverse().map((service) => service.stop()));
  }
}

/** Builds (when missing) what the scaling services run, one after the other. */
async function buildScalingServices(): Promise<void> {
  const named = (service: string) => (error: Error) => {
    throw new ServiceStartError(service, `building it failed: ${error.message}`, "");
  };
  await ensureKubeBinaries().catch(named("kube"));
  await ensureControllerManager().catch(named("kcm"));
  await ensureKedaBinaries().catch(named("keda"));
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      services: { type: "string" },
      "keep-logs": { type: "boolean", default: false },
    },
  });
  const paths = positionals.length > 0 ? positionals : DEFAULT_PATHS;
  let phases: TestPhase[];
  if (values.services === undefined) {
    phases = planPhases(paths, await testFiles(paths, ROOT));
  } else {
    const services = values.services.split(",").filter(Boolean) as ServiceName[];
    for (const service of services) {
      if (!ALL_SERVICES.includes(service)) {
        console.error(`Unknown service "${service}": expected ${ALL_SERVICES.join(", ")}`);
        return 2;
      }
    }
    phases = [{ name: "selected", services: withNeeds(services), args: paths }];
  }
  if (phases.length === 0) {
    console.error(`No test files under ${paths.join(", ")}`);
    return 2;
  }
  const logDir = await Deno.makeTempDir({ prefix: "jobpool-test-logs-" });
  const needsScaling = phases.some((p) =>
    p.services.includes("keda") || p.services.includes("kcm")
  );
  // Started now, so that cold builds run beside the first phase's tests.
  const builds = needsScaling ? buildScalingServices() : undefined;
  builds?.catch(() => {}); // reported by the phase that needs them
  let code = 0;
  let passed = 0;
  let failed = 0;
  const interrupt = () => console.error("\nInterrupted: stopping the test services…");
  Deno.addSignalListener("SIGINT", interrupt);
  try {
    console.log(`Test logs in ${logDir}`);
    for (const phase of phases) {
      const phaseDir = phases.length > 1 ? join(logDir, phase.name) : logDir;
      await Deno.mkdir(phaseDir, { recursive: true });
      const result = await runPhase(phase, phaseDir, builds);
      passed += result.passed;
      failed += result.failed;
      if (result.code !== 0) code = result.code;
    }
    console.log(`\n${passed} passed, ${failed} failed`);
    return code;
  } finally {
    Deno.removeSignalListener("SIGINT", interrupt);
    if (code === 0 && !values["keep-logs"]) await Deno.remove(logDir, { recursive: true });
    else console.error(`Service logs kept in ${logDir}`);
  }
}

if (import.meta.main) Deno.exit(await main());
