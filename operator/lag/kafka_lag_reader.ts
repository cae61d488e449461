/**
 * Reads a pool's consumer-group lag from Kafka with kafkajs (loaded only when
 * lag is on). One admin client per Kafka cluster and credentials is kept and
 * reused across pools and reads; a failing one is dropped and rebuilt on the
 * next read, and one unused for `idleMs` is closed. SASL credentials, a CA
 * and a client certificate (mutual TLS) come from the pool's Secrets.
 *
 * @module
 */

import type { KafkaConfig, TlsSettings } from "../../src/config/mod.ts";
import type { LagAdmin } from "../../src/observability/lag.ts";
import { consumerGroupOf, type JobWorkerPool } from "../api/mod.ts";
import type { KubeClient } from "../runtime/kube_client.ts";

/** Reads a pool's consumer lag. */
export interface LagReader {
  /** Total lag of the pool's group on its topic; throws when it cannot be read. */
  read(pool: JobWorkerPool, signal?: AbortSignal): Promise<number>;
  /** Disconnects every admin client. */
  close(): Promise<void>;
}

/** Options of {@linkcode createKafkaLagReader}. */
export interface KafkaLagReaderOptions {
  /** Reads the pool's Secrets (SASL credentials, CA, client certificate). */
  client: KubeClient;
  /** Give up a read after this long. @default 5000 */
  timeoutMs?: number;
  /** Close an admin client no read used for this long. @default 600000 */
  idleMs?: number;
}

/** No broker of a pool's cluster could be reached (connect failed or timed out). */
export class KafkaUnreachableError extends Error {
  /** `brokers` could not be reached; `cause` says how. */
  constructor(brokers: readonly string[], cause: unknown) {
    super(
      `Cannot connect to the brokers ${brokers.join(",")}: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
    this.name = "KafkaUnreachableError";
  }
}

interface AdminLike extends LagAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

interface CachedAdmin {
  admin: Promise<AdminLike>;
  lastUsed: number;
}

const SECRETS = { group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true };

/** A {@linkcode LagReader} over kafkajs admin clients, one per cluster and credentials. */
export function createKafkaLagReader(options: KafkaLagReaderOptions): LagReader {
  const admins = new Map<string, CachedAdmin>();
  const timeoutMs = options.timeoutMs ?? 5_000;
  const idleMs = options.idleMs ?? 600_000;

  const drop = (key: string) => {
    const cached = admins.get(key);
    admins.delete(key);
    cached?.admin.then((a) => a.disconnect()).catch(() => {});
  };
  const adminFor = (key: string, config: KafkaConfig): Promise<AdminLike> => {
    const now = Date.now();
    for (const [other, cached] of admins) if (now - cached.lastUsed > idleMs) drop(other);
    let cached = admins.get(key);
    if (!cached) {
      const admin = (async () => {
        const { createKafkaClient } = await import("../../src/kafka/mod.ts");
        // The monitor reports failures itself, once per streak: kafkajs stays quiet.
        const created: AdminLike = createKafkaClient(config, { logLevel: "nothing", retries: 1 })
          .admin();
        await created.connect();
        return created;
      })();
      admin.catch(() => admins.get(key)?.admin === admin && admins.delete(key));
      cached = { admin, lastUsed: now };
      admins.set(key, cached);
    }
    cached.lastUsed = now;
    return cached.admin;
  };

  return {
    async read(pool, signal) {
      const config = await kafkaConfigOf(options.client, pool, signal);
      const key = JSON.stringify([config.brokers, config.tls, config.sasl]);
      try {
        const { fetchGroupLag } = await import("../../src/observability/lag.ts");
        const admin = await withTimeout(adminFor(key, config), timeoutMs, signal)
          .catch((error) => {
            throw new KafkaUnreachableError(config.brokers, error);
          });
        const lag = await withTimeout(
          fetchGroupLag(admin, consumerGroupOf(pool), pool.spec.kafka.topic.name),
          timeoutMs,
          signal,
        );
        return lag.total;
      } catch (error) {
        drop(key);
        throw error;
      }
    },
    async close() {
      const all = [...admins.values()];
      admins.clear();
      await Promise.allSettled(all.map(async ({ admin }) => (await admin).disconnect()));
    },
  };
}

/** The kafkajs settings for a pool, its Secrets read; throws naming a Secret it cannot read. */
export async function kafkaConfigOf(
  client: KubeClient,
  pool: JobWorkerPool,
  signal?: AbortSignal,
): Promise<KafkaConfig> {
  const { kafka } = pool.spec;
  const secretKey = (name: string, key: string) =>
    readSecretKey(client, { namespace: pool.metadata.namespace ?? "", name, key }, signal);
  const config: KafkaConfig = {
    brokers: kafka.bootstrapServers,
    topic: kafka.topic.name,
    clientId: "jobpool-operator-lag",
    tls: { enabled: false },
  };
  if (kafka.tls.enabled) {
    const tls: TlsSettings = { enabled: true, rejectUnauthorized: true };
    const ca = kafka.tls.caSecretRef;
    if (ca) tls.ca = await secretKey(ca.name, ca.key);
    const clientCert = kafka.tls.clientCertSecretRef;
    if (clientCert) {
      tls.cert = await secretKey(clientCert.name, clientCert.certKey);
      tls.key = await secretKey(clientCert.name, clientCert.keyKey);
    }
    config.tls = tls;
  }
  if (kafka.sasl) {
    const { name, usernameKey, passwordKey } = kafka.sasl.secretRef;
    config.sasl = {
      mechanism: kafka.sasl.mechanism,
      username: await secretKey(name, usernameKey),
      password: await secretKey(name, passwordKey),
    };
  }
  return config;
}

async function readSecretKey(
  client: KubeClient,
  ref: { namespace: string; name: string; key: string },
  signal?: AbortSignal,
): Promise<string> {
  const where = `${ref.namespace}/${ref.name}`;
  const secret = await client.get(SECRETS, ref, signal).catch((error: unknown) => {
    throw new Error(
      `Reading the Secret ${where} failed: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  });
  const value = (secret?.["data"] as Record<string, string> | undefined)?.[ref.key];
  if (value === undefined) {
    throw new Error(`The Secret ${where} is missing or has no key "${ref.key}"`);
  }
  return new TextDecoder().decode(Uint8Array.from(atob(value), (c) => c.charCodeAt(0)));
}

/** `promise`, or a rejection after `ms` or when `signal` aborts, whichever comes first. */
function withTimeout<T>(promise: Promise<T>, ms: number, signal?: AbortSignal): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort = () => {};
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    onAbort = () => reject(signal?.reason ?? new Error("aborted"));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  });
}
