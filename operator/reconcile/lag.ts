/**
 * The consumer lag of a pool's group, read from Kafka when the operator can
 * reach the pool's brokers (opt-in: `OPERATOR_LAG=true`). kafkajs is loaded
 * only when lag is on. One admin client per set of brokers and credentials is
 * kept and reused; a failing one is dropped and rebuilt on the next read.
 * Pools whose TLS trusts a CA from a Secret are not read (lag stays unset).
 *
 * @module
 */

import type { KafkaConfig } from "../../src/config/mod.ts";
import { logger } from "../../src/observability/logging.ts";
import { consumerGroupOf, type JobWorkerPool } from "../api/mod.ts";
import type { KubeClient } from "../runtime/kube_client.ts";
import type { LagAdmin } from "../../src/observability/lag.ts";

/** Reads a pool's consumer lag. */
export interface LagReader {
  /** Total lag of the pool's group on its topic; `undefined` when it cannot be read. */
  read(pool: JobWorkerPool, signal?: AbortSignal): Promise<number | undefined>;
  /** Disconnects every admin client. */
  close(): Promise<void>;
}

/** Options of {@linkcode createKafkaLagReader}. */
export interface KafkaLagReaderOptions {
  /** Reads SASL credentials from the pool's Secret. */
  client: KubeClient;
  /** Give up a read after this long. @default 5000 */
  timeoutMs?: number;
}

interface AdminLike extends LagAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

const log = logger("operator", "lag");

/** A {@linkcode LagReader} over kafkajs admin clients. */
export function createKafkaLagReader(options: KafkaLagReaderOptions): LagReader {
  const admins = new Map<string, Promise<AdminLike>>();
  const timeoutMs = options.timeoutMs ?? 5_000;

  const adminFor = (config: KafkaConfig): Promise<AdminLike> => {
    const key = JSON.stringify([config.brokers, config.tls, config.sasl]);
    let admin = admins.get(key);
    if (!admin) {
      admin = (async () => {
        const { createKafkaClient } = await import("../../src/kafka/mod.ts");
        const created = createKafkaClient(config).admin() as unknown as AdminLike;
        await created.connect();
        return created;
      })();
      admin.catch(() => admins.delete(key));
      admins.set(key, admin);
    }
    return admin.then((value) => value);
  };

  // Pools whose last read failed: the first failure is a warning, repeats are debug.
  const failing = new Set<string>();
  const failed = (pool: JobWorkerPool, error: unknown) => {
    const name = `${pool.metadata.namespace}/${pool.metadata.name}`;
    const details = { pool: name, error: error instanceof Error ? error.message : String(error) };
    const message = "Cannot read the lag of {pool} (status.lag stays unset; the operator needs " +
      "network access to the brokers and, with SASL, to read the pool's Secret): {error}";
    if (failing.has(pool.metadata.uid ?? name)) log.debug(message, details);
    else log.warn(message, details);
    failing.add(pool.metadata.uid ?? name);
  };

  return {
    async read(pool, signal) {
      let config: KafkaConfig | undefined;
      try {
        config = await kafkaConfigOf(options.client, pool, signal);
      } catch (error) {
        failed(pool, error);
        return undefined;
      }
      if (!config) return undefined;
      const key = JSON.stringify([config.brokers, config.tls, config.sasl]);
      try {
        const { fetchGroupLag } = await import("../../src/observability/lag.ts");
        const admin = await withTimeout(adminFor(config), timeoutMs);
        const lag = await withTimeout(
          fetchGroupLag(admin, consumerGroupOf(pool), pool.spec.kafka.topic.name),
          timeoutMs,
        );
        failing.delete(pool.metadata.uid ?? `${pool.metadata.namespace}/${pool.metadata.name}`);
        return lag.total;
      } catch (error) {
        failed(pool, error);
        const admin = admins.get(key);
        admins.delete(key);
        admin?.then((a) => a.disconnect()).catch(() => {});
        return undefined;
      }
    },
    async close() {
      const all = [...admins.values()];
      admins.clear();
      await Promise.allSettled(all.map(async (admin) => (await admin).disconnect()));
    },
  };
}

/**
 * The kafkajs settings for a pool; `undefined` for a TLS CA from a Secret (not
 * supported here); throws when the SASL Secret cannot be read.
 */
async function kafkaConfigOf(
  client: KubeClient,
  pool: JobWorkerPool,
  signal?: AbortSignal,
): Promise<KafkaConfig | undefined> {
  const { kafka } = pool.spec;
  if (kafka.tls.caSecretRef) return undefined;
  const config: KafkaConfig = {
    brokers: kafka.bootstrapServers,
    topic: kafka.topic.name,
    clientId: "jobpool-operator-lag",
    tls: kafka.tls.enabled ? { enabled: true, rejectUnauthorized: true } : { enabled: false },
  };
  if (kafka.sasl) {
    const where = `${pool.metadata.namespace ?? ""}/${kafka.sasl.secretRef.name}`;
    const secret = await client.get(
      { group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true },
      { namespace: pool.metadata.namespace ?? "", name: kafka.sasl.secretRef.name },
      signal,
    ).catch((error: unknown) => {
      throw new Error(
        `Reading the SASL Secret ${where} failed: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    });
    const data = secret?.["data"] as Record<string, string> | undefined;
    const username = data?.[kafka.sasl.secretRef.usernameKey];
    const password = data?.[kafka.sasl.secretRef.passwordKey];
    if (!username || !password) {
      throw new Error(
        `The SASL Secret ${where} is missing or lacks the keys ` +
          `${kafka.sasl.secretRef.usernameKey} and ${kafka.sasl.secretRef.passwordKey}`,
      );
    }
    config.sasl = {
      mechanism: kafka.sasl.mechanism,
      username: atob(username),
      password: atob(password),
    };
  }
  return config;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
