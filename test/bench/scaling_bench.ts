/**
 * `deno task bench:scaling`: one scale-up-and-drain cycle on the real loop
 * (Kafka, kube-apiserver, KEDA, kube-controller-manager, the node stand-in
 * running worker processes), as `scaling_cycle_test.ts` runs it, reported:
 *
 * - seconds from the backlog to the maximum of replicas (asked for, and
 *   ready), to the backlog done and committed, and back to the minimum;
 * - the replica count over time (one sample a second);
 * - repeated deliveries, pool resizes, and the worker processes' CPU per
 *   1000 jobs and peak RSS (sampled each second from `/proc`).
 *
 * Not a test: prints tables and writes `test/bench/results/scaling.json`.
 * It starts its own services (built and cached like `deno task test`'s).
 *
 * Usage: `deno task bench:scaling [--backlog-factor 100] [--job-ms 100]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { startKafka } from "../env/kafka.ts";
import { ensureKubeBinaries, startKube } from "../env/kube.ts";
import { startKeda } from "../env/keda.ts";
import { startControllerManager } from "../env/kcm.ts";
import { SERVICE_VARIABLES } from "../env/services.ts";
import { repeats, replicaSteps, runScaleCycle } from "../integration/scaling_cycle.ts";
import { openScalingStack } from "../integration/scaling_stack.ts";

const RESULTS = fileURLToPath(new URL("./results/scaling.json", import.meta.url));

const { values } = parseArgs({
  args: Deno.args,
  options: {
    "backlog-factor": { type: "string", default: "100" },
    "job-ms": { type: "string", default: "100" },
  },
});

/** Resident memory and CPU seconds (user + system) of a process, or undefined once it is gone. */
async function usage(pid: number): Promise<{ rssMB: number; cpuSeconds: number } | undefined> {
  try {
    const [status, stat] = await Promise.all([
      Deno.readTextFile(`/proc/${pid}/status`),
      Deno.readTextFile(`/proc/${pid}/stat`),
    ]);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
      rssMB: Number(status.match(/VmRSS:\s+(\d+) kB/)?.[1] ?? 0) / 1024,
      cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100,
    };
  } catch {
    return undefined;
  }
}

function table(rows: (string | number)[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
  return rows.map((row) => row.map((cell, i) => String(cell).padEnd(widths[i]!)).join("  "))
    .join("\n");
}

const logDir = await Deno.makeTempDir({ prefix: "jobpool-bench-scaling-" });
const stops: (() => Promise<void>)[] = [];
try {
  console.error("Starting Kafka, kube-apiserver, KEDA and kube-controller-manager…");
  const binaries = await ensureKubeBinaries();
  const [kafka, kube] = await Promise.all([
    startKafka({ logDir }),
    startKube({ logDir, aggregation: true }),
  ]);
  stops.push(() => kafka.stop(), () => kube.stop());
  const [keda, kcm] = await Promise.all([
    startKeda({ kube, logDir }),
    startControllerManager({ kube, logDir }),
  ]);
  stops.push(() => keda.stop(), () => kcm.stop());
  for (
    const [name, value] of Object.entries({
      [SERVICE_VARIABLES.kafkaBrokers]: kafka.brokers.join(","),
      [SERVICE_VARIABLES.kubeconfig]: kube.kubeconfigPath,
      [SERVICE_VARIABLES.kubeServer]: kube.server,
      [SERVICE_VARIABLES.kubeToken]: kube.token,
      [SERVICE_VARIABLES.kubectl]: binaries.kubectl,
      [SERVICE_VARIABLES.helm]: binaries.helm,
      [SERVICE_VARIABLES.kedaVersion]: keda.version,
      [SERVICE_VARIABLES.kedaMetricsUrl]: keda.operatorMetricsUrl,
    })
  ) Deno.env.set(name, value);

  await using stack = await openScalingStack({ prefix: "bench_scaling", partitions: 12 });
  const perProcess = new Map<number, { rssMB: number; cpuSeconds: number }>();
  let peakTotalRssMB = 0;
  const cycle = await runScaleCycle(stack, {
    backlogFactor: Number(values["backlog-factor"]),
    jobMs: Number(values["job-ms"]),
    onSample(sample) {
      console.error(
        `${sample.t.toFixed(1)} s: ${sample.replicas} replicas asked, ${sample.ready} ready, ` +
          `${sample.processes} processes, lag ${sample.lag}`,
      );
      void Promise.all(
        (stack.node?.running() ?? []).map(async ({ pid }) => [pid, await usage(pid)] as const),
      ).then((usages) => {
        let total = 0;
        for (const [pid, found] of usages) {
          if (!found) continue;
          const seen = perProcess.get(pid);
          perProcess.set(pid, {
            rssMB: Math.max(seen?.rssMB ?? 0, found.rssMB),
            cpuSeconds: found.cpuSeconds,
          });
          total += found.rssMB;
        }
        peakTotalRssMB = Math.max(peakTotalRssMB, total);
      });
    },
  });
  const workers = [...perProcess.values()];
  const cpuSeconds = workers.reduce((sum, w) => sum + w.cpuSeconds, 0);
  const result = {
    date: new Date().toISOString(),
    versions: { kafka: kafka.version, kube: binaries.version, keda: keda.version },
    hpa: kcm.hpa,
    settings: cycle.settings,
    jobs: cycle.ids.length,
    seconds: cycle.seconds,
    replicaSteps: replicaSteps(cycle.replicaChanges),
    repeatedDeliveries: repeats(cycle.deliveries),
    effects: cycle.effects.size,
    poolResizesPerProcess: cycle.resizes.map((r) => r.length),
    workerProcesses: workers.length,
    workerCpuSecondsPer1000Jobs: Math.round((cpuSeconds / cycle.ids.length) * 1000 * 100) / 100,
    workerPeakRssMB: {
      perProcess: Math.round(Math.max(...workers.map((w) => w.rssMB))),
      total: Math.round(peakTotalRssMB),
    },
    timeline: cycle.timeline,
  };
  await Deno.writeTextFile(RESULTS, JSON.stringify(result, null, 2) + "\n");

  console.log(
    `\nOne cycle: ${result.jobs} jobs of ${cycle.settings.jobMs} ms, lagThreshold ` +
      `${cycle.settings.lagThreshold}, replicas ${cycle.settings.replicas.min}–` +
      `${cycle.settings.replicas.max}, pool ${cycle.settings.pool.min}–${cycle.settings.pool.max}, ` +
      `${cycle.settings.partitions} partitions, KEDA polling ${cycle.settings.pollingInterval} s, ` +
      `HPA sync ${kcm.hpa.syncSeconds} s, downscale stabilization ` +
      `${kcm.hpa.downscaleStabilizationSeconds} s\n`,
  );
  console.log(table([
    ["milestone", "seconds after the backlog"],
    [`${cycle.settings.replicas.max} replicas asked`, cycle.seconds.maxReplicas],
    [`${cycle.settings.replicas.max} replicas ready`, cycle.seconds.maxReady ?? "never"],
    ["backlog done and committed", cycle.seconds.drained],
    [`back at ${cycle.settings.replicas.min} ready replica`, cycle.seconds.backAtMin],
  ]));
  console.log(
    `\nreplicas ${result.replicaSteps.join(" → ")}; ${result.repeatedDeliveries} ` +
      `repeated deliveries; pool resizes per process ${result.poolResizesPerProcess.join(", ")}; ` +
      `worker CPU ${result.workerCpuSecondsPer1000Jobs} s per 1000 jobs; peak RSS ` +
      `${result.workerPeakRssMB.perProcess} MB per process, ${result.workerPeakRssMB.total} MB total\n`,
  );
  console.log(table([
    ["t (s)", "asked", "ready", "processes", "lag"],
    ...cycle.timeline.map((s) => [s.t, s.replicas, s.ready, s.processes, s.lag]),
  ]));
  console.log(`\nWrote ${join("test", "bench", "results", "scaling.json")}`);
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await Deno.remove(logDir, { recursive: true }).catch(() => {});
}
