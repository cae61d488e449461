import assert from "node:assert/strict";
import { newJobWorkerPool } from "../api/mod.ts";
import { KubeApiError, type KubeClient } from "../runtime/kube_client.ts";
import type { KubeObject } from "../runtime/object.ts";
import { createKafkaLagReader, kafkaConfigOf } from "./kafka_lag_reader.ts";

const base64 = (text: string) => btoa(text);

function secretsClient(secrets: Record<string, Record<string, string>>): KubeClient {
  return {
    get: (_type: unknown, key: { namespace?: string; name: string }) =>
      Promise.resolve(
        secrets[`${key.namespace}/${key.name}`]
          ? ({
            metadata: { name: key.name },
            data: secrets[`${key.namespace}/${key.name}`],
          } as KubeObject)
          : undefined,
      ),
  } as unknown as KubeClient;
}

Deno.test("kafkaConfigOf: SASL credentials and a CA from the pool's Secrets", async () => {
  const pool = newJobWorkerPool({ name: "p", namespace: "ns", uid: "u" }, {
    image: "worker:1",
    kafka: {
      bootstrapServers: ["kafka:9093"],
      tls: {
        enabled: true,
        caSecretRef: { name: "kafka-ca" },
        clientCertSecretRef: { name: "client" },
      },
      sasl: { mechanism: "scram-sha-512", secretRef: { name: "creds" } },
    },
  });
  const config = await kafkaConfigOf(
    secretsClient({
      "ns/kafka-ca": { "ca.crt": base64("-----BEGIN CERTIFICATE-----\nX\n") },
      "ns/creds": { username: base64("svc"), password: base64("s3cret") },
      "ns/client": { "tls.crt": base64("CERT"), "tls.key": base64("KEY") },
    }),
    pool,
  );
  assert.deepEqual(config.tls, {
    enabled: true,
    rejectUnauthorized: true,
    ca: "-----BEGIN CERTIFICATE-----\nX\n",
    cert: "CERT",
    key: "KEY",
  });
  assert.deepEqual(config.sasl, {
    mechanism: "scram-sha-512",
    username: "svc",
    password: "s3cret",
  });
});

Deno.test("lag reader: a Secret it cannot read is an error naming the Secret", async () => {
  const client = {
    get: () =>
      Promise.reject(
        new KubeApiError("get", {
          code: 403,
          reason: "Forbidden",
          message: "secrets is forbidden",
        }),
      ),
  } as unknown as KubeClient;
  const reader = createKafkaLagReader({ client });
  const pool = newJobWorkerPool({ name: "p", namespace: "ns", uid: "u" }, {
    image: "worker:1",
    kafka: {
      bootstrapServers: ["kafka:9092"],
      sasl: { mechanism: "scram-sha-512", secretRef: { name: "creds" } },
    },
  });
  await assert.rejects(reader.read(pool), /Secret ns\/creds failed.*secrets is forbidden/);
  await assert.rejects(
    createKafkaLagReader({ client: secretsClient({}) }).read(pool),
    /Secret ns\/creds is missing or has no key "username"/,
  );
  await reader.close();
});
