/**
 * `deno task test`: starts the real services (Kafka 4.x, PostgreSQL, Redis, a
 * kube-apiserver with etcd), runs every test against them and tears them down.
 *
 * Usage: `deno task test [--services kafka,postgres,redis,kube] [--keep-logs] [paths…]`
 *
 * A service that fails to start fails the run, naming the service and
 * showing its log; nothing is skipped.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { startKafka } from "./env/kafka.ts";
import { startPostgres } from "./env/postgres.ts";
import { startRedis } from "./env/redis.ts";
import { ensureKubeBinaries, startKube } from "./env/kube.ts";
import { SERVICE_VARIABLES } from "./env/services.ts";

const ALL_SERVICES = ["kafka", "postgres", "redis", "kube"] as const;
type ServiceName = typeof ALL_SERVICES[number];

interface Started {
  env: Record<string, string>;
  describe: string;
  stop(): Promise<void>;
  logPath?: string;
}

const DEFAULT_PATHS = ["src/", "operator/", "test/"];

async function startService(name: ServiceName, logDir: string): Promise<Started> {
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
      const kube = await startKube({ logDir });
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
  }
}

/** Reads `deno test`'s closing line: `ok | 12 passed (3 steps) | 0 failed (4s)`. */
export function parseSummary(output: string): { passed: number; failed: number } | undefined {
  // deno-lint-ignore no-control-regex -- strips the colour codes deno test prints
  const plain = output.replaceAll(/\x1b\[[0-9;]*m/g, "");
  const match = [...plain.matchAll(/\| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/g)].at(-1);
  if (!match) return undefined;
  return { passed: Number(match[1]), failed: Number(match[2]) };
}

async function runTests(paths: string[], env: Record<string, string>): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", ...paths],
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
  const summary = parseSummary(output);
  if (summary) console.log(`\n${summary.passed} passed, ${summary.failed} failed`);
  return status.code;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      services: { type: "string", default: ALL_SERVICES.join(",") },
      "keep-logs": { type: "boolean", default: false },
    },
  });
  const services = values.services.split(",").filter(Boolean) as ServiceName[];
  for (const service of services) {
    if (!ALL_SERVICES.includes(service)) {
      console.error(`Unknown service "${service}": expected ${ALL_SERVICES.join(", ")}`);
      return 2;
    }
  }
  const logDir = await Deno.makeTempDir({ prefix: "jobpool-test-logs-" });
  const started: Started[] = [];
  let code = 1;
  const interrupt = () => console.error("\nInterrupted: stopping the test services…");
  Deno.addSignalListener("SIGINT", interrupt);
  try {
    console.log(`Starting test services: ${services.join(", ")} (logs in ${logDir})`);
    const results = await Promise.allSettled(services.map((s) => startService(s, logDir)));
    for (const result of results) if (result.status === "fulfilled") started.push(result.value);
    const failures = results.filter((r) => r.status === "rejected");
    if (failures.length > 0) {
      for (const failure of failures) {
        console.error(`\n${(failure as PromiseRejectedResult).reason}`);
      }
      console.error("\nA test service failed to start; no test was run.");
      return 1;
    }
    for (const service of started) console.log(`  - ${service.describe}`);
    const env = Object.assign({}, ...started.map((s) => s.env)) as Record<string, string>;
    code = await runTests(positionals.length > 0 ? positionals : DEFAULT_PATHS, env);
    return code;
  } finally {
    await Promise.allSettled(started.map((service) => service.stop()));
    Deno.removeSignalListener("SIGINT", interrupt);
    if (code === 0 && !values["keep-logs"]) await Deno.remove(logDir, { recursive: true });
    else console.error(`Service logs kept in ${logDir}`);
  }
}

if (import.meta.main) Deno.exit(await main());
