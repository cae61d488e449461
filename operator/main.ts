/**
 * `deno task operator`: the jobpool operator process. Configuration comes
 * from the environment (see `config.ts`), read once here. SIGTERM and SIGINT
 * stop it gracefully: reconciles finish, the Lease is released.
 *
 * @module
 */

import { closeLogging, configureLogging, logger } from "../src/observability/logging.ts";
import { synthesizePool } from "./synth/mod.ts";
import { loadOperatorConfig } from "./config.ts";
import { createKafkaLagReader } from "./lag/mod.ts";
import { startOperator } from "./manager.ts";
import { HttpKubeClient, loadKubeConnection } from "./runtime/mod.ts";

async function main(): Promise<void> {
  const config = loadOperatorConfig(Deno.env.toObject());
  await configureLogging(config);
  const log = logger("operator", "main");
  const client = new HttpKubeClient(
    await loadKubeConnection({
      kubeconfigPath: config.kubeconfigPath,
      context: config.kubeContext,
      env: config.inClusterEnv,
      serviceAccountDir: config.serviceAccountDir,
    }),
  );
  const lag = config.lag ? createKafkaLagReader({ client }) : undefined;
  const operator = await startOperator({
    client,
    synthesize: synthesizePool,
    identity: config.identity,
    lease: config.lease,
    watchNamespace: config.watchNamespace,
    metricsPort: config.metricsPort,
    concurrency: config.concurrency,
    resyncPeriodMs: config.resyncPeriodMs,
    lag,
    lagRefreshMs: config.lagRefreshMs,
  });
  log.info("Operator {identity} started; metrics on port {port}", {
    identity: config.identity,
    port: operator.port,
  });
  const shutdown = () => {
    log.info("Stopping");
    void operator.stop();
  };
  Deno.addSignalListener("SIGTERM", shutdown);
  Deno.addSignalListener("SIGINT", shutdown);
  await operator.done;
  await lag?.close();
  client.close();
  log.info("Stopped");
  await closeLogging();
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    Deno.exit(1);
  }
}
