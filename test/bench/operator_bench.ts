/**
 * `deno task bench:operator`: the operator (`operator/main.ts`, as its own
 * process) against a real kube-apiserver + etcd with the KEDA and Strimzi
 * CRDs. Creates N JobWorkerPools (200 by default) at once and measures:
 *
 * - the time from the first create until every pool's
 *   `status.observedGeneration` equals its `metadata.generation`;
 * - per pool, create-to-reconciled latency (p50/p99), seen through a watch;
 * - reconcile duration p50/p99 from the operator's own histogram
 *   (interpolated inside its buckets);
 * - the operator process's peak and final RSS.
 *
 * Not a test: prints a table and writes `test/bench/results/operator.json`.
 * Targets (issue 5): all reconciled ≤ 30 s, p99 ≤ 1 s, RSS ≤ 150 MB.
 *
 * The operator connects the way it does in a cluster (service account token
 * and CA in a folder, `KUBERNETES_SERVICE_HOST`/`_PORT`, the install bundle's
 * least-privilege RBAC, the Lease in the operator namespace) unless
 * `--connection kubeconfig` (admin kubeconfig, which loads client-node: about
 * 70 MB more RSS).
 *
 * With `--lag` the operator also reads each pool's lag (`OPERATOR_LAG=true`,
 * every 5 s) from brokers that are not there: the pools' bootstrap servers do
 * not resolve, and `--unreachable N` of them point at a non-routable address
 * whose connects time out, so the run shows what lag reads cost reconciles.
 *
 * Usage: `deno task bench:operator [--pools 200] [--concurrency 4]
 * [--connection in-cluster|kubeconfig] [--lag] [--unreachable 0] [--hold 0]`
 * (`--hold S` keeps the operator running S seconds after the last pool is
 * reconciled, counting its reconciles and log lines.)
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { ensureKubeBinaries, startKube } from "../env/kube.ts";
import { freePort } from "../env/process.ts";
import { HttpKubeClient, type KubeObject, loadKubeConnection } from "../../operator/runtime/mod.ts";
import { POOL_RESOURCE } from "../../operator/api/mod.ts";
import { installPoolCrd, poolManifest } from "../integration/operator_support.ts";
import {
  OPERATOR_NAME,
  OPERATOR_NAMESPACE,
  synthesizeInstall,
} from "../../operator/synth/install.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(HERE, "..", "..");

const { values } = parseArgs({
  args: Deno.args,
  options: {
    pools: { type: "string", default: "200" },
    concurrency: { type: "string", default: "4" },
    connection: { type: "string", default: "in-cluster" },
    lag: { type: "boolean", default: false },
    unreachable: { type: "string", default: "0" },
    hold: { type: "string", default: "0" },
  },
});
const unreachable = Number(values.unreachable);
const poolCount = Number(values.pools);
const concurrency = Number(values.concurrency);
if (values.connection !== "in-cluster" && values.connection !== "kubeconfig") {
  throw new TypeError(`--connection must be in-cluster or kubeconfig, got "${values.connection}"`);
}
const connectionMode = values.connection;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** User + system CPU seconds of a process so far. */
async function cpuSeconds(pid: number): Promise<number> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

async function rssBytes(pid: number): Promise<number> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    return Number(status.match(/VmRSS:\s+(\d+) kB/)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** p-th percentile from a Prometheus histogram, interpolated linearly inside its bucket. */
function histogramPercentile(metrics: string, name: string, p: number): number {
  const buckets = [
    ...metrics.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)`, "gm")),
  ].map((m) => ({ le: m[1] === "+Inf" ? Infinity : Number(m[1]), count: Number(m[2]) }));
  const total = buckets.at(-1)?.count ?? 0;
  const target = (p / 100) * total;
  let lower = { le: 0, count: 0 };
  for (const bucket of buckets) {
    if (bucket.count >= target) {
      if (!Number.isFinite(bucket.le)) return lower.le;
      const inBucket = bucket.count - lower.count;
      const fraction = inBucket === 0 ? 1 : (target - lower.count) / inBucket;
      return lower.le + (bucket.le - lower.le) * fraction;
    }
    lower = bucket;
  }
  return NaN;
}

const logDir = await Deno.makeTempDir({ prefix: "jobpool-bench-operator-" });
console.error(`starting kube-apiserver (logs in ${logDir})`);
const kube = await startKube({ logDir });
const { kubectl: kubectlPath } = await ensureKubeBinaries();
const client = new HttpKubeClient(
  await loadKubeConnection({ kubeconfigPath: kube.kubeconfigPath }),
);
let operator: Deno.ChildProcess | undefined;
let operatorPid: number | undefined;
try {
  await installPoolCrd({ kubeconfig: kube.kubeconfigPath, kubectl: kubectlPath });
  const namespace = "bench";
  await client.create({
    group: "",
    version: "v1",
    plural: "namespaces",
    kind: "Namespace",
    namespaced: false,
  }, {
    metadata: { name: namespace },
  });

  const connectionEnv: Record<string, string> = { KUBECONFIG: kube.kubeconfigPath };
  if (connectionMode === "in-cluster") {
    const saDir = join(logDir, "serviceaccount");
    await Deno.mkdir(saDir, { recursive: true });
    // The install bundle's own least-privilege RBAC, so the run also proves it suffices.
    const install = synthesizeInstall();
    await kube.kubectl(["apply", "--server-side", "-f", "-"], {
      stdin: JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [install.namespace, ...install.rbac],
      }),
    });
    const token = await kube.createServiceAccountToken(OPERATOR_NAMESPACE, OPERATOR_NAME, {
      duration: "2h",
    });
    await Deno.writeTextFile(join(saDir, "token"), token);
    await Deno.copyFile(kube.caFile!, join(saDir, "ca.crt"));
    const server = new URL(kube.server);
    connectionEnv["KUBECONFIG"] = "";
    connectionEnv["KUBERNETES_SERVICE_HOST"] = server.hostname;
    connectionEnv["KUBERNETES_SERVICE_PORT"] = server.port;
    connectionEnv["OPERATOR_SERVICE_ACCOUNT_DIR"] = saDir;
    connectionEnv["POD_NAMESPACE"] = OPERATOR_NAMESPACE;
  }

  const metricsPort = freePort();
  operator = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "operator"],
    cwd: ROOT,
    env: {
      ...connectionEnv,
      OPERATOR_METRICS_PORT: String(metricsPort),
      OPERATOR_WATCH_NAMESPACE: namespace,
      OPERATOR_CONCURRENCY: String(concurrency),
      ...(values.lag ? { OPERATOR_LAG: "true", OPERATOR_LAG_INTERVAL_SECONDS: "5" } : {}),
      LOG_LEVEL: "warning",
    },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // Count the operator's log lines (their number is part of the result), kept in the log folder.
  let logLines = 0;
  const logFile = await Deno.open(join(logDir, "operator.log"), { write: true, create: true });
  const logs = operator.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({
      async write(chunk) {
        logLines += chunk.split("\n").filter(Boolean).length;
        await logFile.write(new TextEncoder().encode(chunk));
      },
      close: () => logFile.close(),
    }),
  ).catch(() => {});
  // `deno task` runs the operator as a child; measure the deno process serving the port.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(async (r) => {
      await r.body?.cancel();
      return r.ok;
    }).catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error("The operator did not become ready within 60 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  operatorPid = await findOperatorPid(operator.pid);
  const idleRss = await rssBytes(operatorPid);
  const idleCpu = await cpuSeconds(operatorPid);

  // Watch pools to see when each one is reconciled.
  const created = new Map<string, number>();
  const reconciled = new Map<string, number>();
  const watchAbort = new AbortController();
  // Right after the CRD is established its storage may still answer 429 for a moment.
  const initial = await retry(() => client.list(POOL_RESOURCE, { namespace }));
  const watching = (async () => {
    try {
      for await (
        const event of client.watch(POOL_RESOURCE, {
          namespace,
          resourceVersion: initial.resourceVersion,
          signal: watchAbort.signal,
          timeoutSeconds: 600,
        })
      ) {
        const pool = event.object as KubeObject & { status?: { observedGeneration?: number } };
        const name = pool.metadata.name ?? "";
        if (
          pool.status?.observedGeneration !== undefined &&
          pool.status.observedGeneration === pool.metadata.generation && !reconciled.has(name)
        ) {
          reconciled.set(name, performance.now());
        }
      }
    } catch (error) {
      if (!watchAbort.signal.aborted) throw error;
    }
  })();

  let peakRss = idleRss;
  const sampler = setInterval(async () => {
    peakRss = Math.max(peakRss, await rssBytes(operatorPid!));
  }, 100);

  const started = performance.now();
  const names = Array.from({ length: poolCount }, (_, i) => `pool-${String(i).padStart(4, "0")}`);
  let next = 0;
  await Promise.all(Array.from({ length: 20 }, async () => {
    while (next < names.length) {
      const name = names[next++]!;
      const manifest = poolManifest(namespace, name, {
        topicProvisioning: { mode: "strimzi", strimzi: { clusterName: "events" } },
        ...(Number(name.slice(5)) < unreachable
          ? { kafka: { bootstrapServers: ["10.255.255.1:9092"], topic: { name: `${name}-jobs` } } }
          : {}),
      });
      await client.create(POOL_RESOURCE, manifest);
      created.set(name, performance.now());
    }
  }));
  const createdAll = performance.now();
  const waitDeadline = Date.now() + 300_000;
  while (reconciled.size < poolCount) {
    if (Date.now() > waitDeadline) {
      throw new Error(`Only ${reconciled.size} of ${poolCount} pools reconciled within 300 s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const allReconciled = Math.max(...reconciled.values());
  await new Promise((r) => setTimeout(r, Number(values.hold) * 1000));
  clearInterval(sampler);
  watchAbort.abort();
  await watching;
  const finalRss = await rssBytes(operatorPid);
  const operatorCpu = (await cpuSeconds(operatorPid)) - idleCpu;
  peakRss = Math.max(peakRss, finalRss);

  const latencies = names.map((n) => reconciled.get(n)! - created.get(n)!).sort((a, b) => a - b);
  const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
  const reconcileCount = [...metrics.matchAll(/^jobpool_operator_reconcile_total\{[^}]*\} (\d+)/gm)]
    .reduce((sum, m) => sum + Number(m[1]), 0);
  const result = {
    date: new Date().toISOString(),
    kubeVersion: kube.version,
    pools: poolCount,
    concurrency,
    connection: connectionMode,
    lag: values.lag,
    holdSeconds: Number(values.hold),
    unreachablePools: unreachable,
    createSeconds: (createdAll - started) / 1000,
    allReconciledSeconds: (allReconciled - started) / 1000,
    createToReconciledMs: {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies.at(-1),
    },
    reconcileDurationSeconds: {
      p50: histogramPercentile(
        metrics,
        "jobpool_operator_reconcile_duration_seconds",
        50,
      ),
      p99: histogramPercentile(
        metrics,
        "jobpool_operator_reconcile_duration_seconds",
        99,
      ),
      mean: Number(metrics.match(/^jobpool_operator_reconcile_duration_seconds_sum (\S+)/m)?.[1]) /
        Number(metrics.match(/^jobpool_operator_reconcile_duration_seconds_count (\S+)/m)?.[1]),
    },
    reconciles: reconcileCount,
    operatorCpuSeconds: operatorCpu,
    operatorLogLines: logLines,
    operatorRssMB: {
      idle: idleRss / 2 ** 20,
      peak: peakRss / 2 ** 20,
      final: finalRss / 2 ** 20,
    },
    targets: { allReconciledSeconds: 30, p99Seconds: 1, rssMB: 150 },
  };

  const fmt = (n: number | undefined, digits = 2) => n === undefined ? "-" : n.toFixed(digits);
  console.log(
    `\nOperator benchmark: ${poolCount} JobWorkerPools, concurrency ${concurrency}, ${connectionMode} connection, ${
      values.lag ? `lag on (${unreachable} pools on non-routable brokers), ` : ""
    }${kube.version}\n`,
  );
  console.log("| metric | value | target |");
  console.log("| --- | --- | --- |");
  console.log(
    `| all reconciled (from first create) | ${fmt(result.allReconciledSeconds)} s | ≤ 30 s |`,
  );
  console.log(`| creating the pools took | ${fmt(result.createSeconds)} s | |`);
  console.log(
    `| create → reconciled p50 | ${fmt(result.createToReconciledMs.p50 / 1000, 3)} s | |`,
  );
  console.log(
    `| create → reconciled p99 | ${fmt(result.createToReconciledMs.p99 / 1000, 3)} s | |`,
  );
  console.log(
    `| reconcile duration p50 | ${fmt(result.reconcileDurationSeconds.p50, 3)} s | |`,
  );
  console.log(
    `| reconcile duration p99 | ${fmt(result.reconcileDurationSeconds.p99, 3)} s | ≤ 1 s |`,
  );
  console.log(`| reconcile duration mean | ${fmt(result.reconcileDurationSeconds.mean, 4)} s | |`);
  console.log(`| reconciles run (incl. ${values.hold} s held) | ${reconcileCount} | |`);
  console.log(`| operator CPU during the run | ${fmt(operatorCpu)} s | |`);
  console.log(`| operator log lines, warning and up (incl. held) | ${logLines} | |`);
  console.log(
    `| operator RSS idle / peak / final | ${fmt(result.operatorRssMB.idle, 1)} / ${
      fmt(result.operatorRssMB.peak, 1)
    } / ${fmt(result.operatorRssMB.final, 1)} MB | ≤ 150 MB |`,
  );

  const resultsDir = join(HERE, "results");
  await Deno.mkdir(resultsDir, { recursive: true });
  await Deno.writeTextFile(
    join(resultsDir, values.lag ? "operator_lag.json" : "operator.json"),
    JSON.stringify(result, null, 2) + "\n",
  );
  console.log(`\nwrote ${join(resultsDir, values.lag ? "operator_lag.json" : "operator.json")}`);
  // Graceful shutdown: SIGTERM ends the process cleanly and releases the Lease.
  Deno.kill(operatorPid, "SIGTERM");
  const exit = await operator.status;
  await logs;
  const lease = await client.get(
    {
      group: "coordination.k8s.io",
      version: "v1",
      plural: "leases",
      kind: "Lease",
      namespaced: true,
    },
    {
      namespace: connectionMode === "in-cluster" ? OPERATOR_NAMESPACE : "default",
      name: "jobpool-operator",
    },
  );
  const holder = (lease?.["spec"] as { holderIdentity?: string } | undefined)?.holderIdentity;
  console.log(
    `\nSIGTERM: operator exited with code ${exit.code}; lease holder afterwards: "${holder ?? ""}"`,
  );
  operator = undefined;
} finally {
  if (operator) {
    try {
      if (operatorPid !== undefined) Deno.kill(operatorPid, "SIGTERM");
      operator.kill("SIGTERM");
    } catch { /* already gone */ }
    await operator.status;
  }
  client.close();
  await kube.stop();
}

/** The deepest descendant of `pid` (the operator under `deno task`), else `pid`. */
async function findOperatorPid(pid: number): Promise<number> {
  let current = pid;
  for (let depth = 0; depth < 5; depth++) {
    const children = await Deno.readTextFile(`/proc/${current}/task/${current}/children`)
      .then((text) => text.trim().split(/\s+/).filter(Boolean).map(Number))
      .catch(() => [] as number[]);
    if (children.length === 0) return current;
    current = children[0]!;
  }
  return current;
}

async function retry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= 50) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
