/**
 * `manifests/images/docker-compose.services.yml`, checked without Docker: it
 * parses, pins its images, runs Kafka as a single KRaft node whose host
 * listener is the worker's default `KAFKA_BROKERS`, and publishes PostgreSQL
 * and the mail catcher on the ports of the configuration defaults (and the
 * README's), so `deno task worker` works against it with no settings.
 *
 * @module
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Yaml } from "cdk8s";
import { loadConfig } from "../../src/config/mod.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const COMPOSE = join(ROOT, "manifests", "images", "docker-compose.services.yml");

interface Service {
  image: string;
  ports?: string[];
  environment?: Record<string, string | number>;
  healthcheck?: unknown;
  depends_on?: Record<string, { condition: string }>;
}

function services(): Record<string, Service> {
  const docs = Yaml.load(COMPOSE);
  assert.equal(docs.length, 1, "one YAML document");
  return docs[0].services;
}

/** Published ports as host → container. */
function published(service: Service): Map<number, number> {
  const ports = new Map<number, number>();
  for (const spec of service.ports ?? []) {
    assert.equal(typeof spec, "string", `quote port mappings (YAML 1.1 reads 1:2 as a number)`);
    const match = spec.match(/^(?:127\.0\.0\.1:)?(\d+):(\d+)$/);
    assert.ok(match, `port mapping "${spec}" is not host:container`);
    ports.set(Number(match[1]), Number(match[2]));
  }
  return ports;
}

/** The default of a variable in the README's configuration table, if the table lists it. */
async function readmeDefault(variable: string): Promise<string | undefined> {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const row = readme.split("\n").find((line) => line.startsWith(`| \`${variable}\``));
  return row?.split("|")[2]?.trim().replace(/^`(.*)`$/, "$1");
}

Deno.test("the compose file has Kafka, a Kafka UI, PostgreSQL and a mail catcher, pinned", () => {
  const all = services();
  assert.deepEqual(Object.keys(all).sort(), ["kafka", "kafka-ui", "mailpit", "postgres"]);
  assert.match(all["kafka"]!.image, /^apache\/kafka:4\.\d+\.\d+$/);
  assert.match(all["kafka-ui"]!.image, /^(kafbat|provectuslabs)\/kafka-ui:v\d+\.\d+\.\d+$/);
  assert.match(all["postgres"]!.image, /^postgres:1[56](\.\d+)?(-alpine)?$/);
  assert.match(all["mailpit"]!.image, /^axllent\/mailpit:v\d+\.\d+\.\d+$/);
  for (const name of ["kafka", "postgres", "mailpit"]) {
    assert.ok(all[name]!.healthcheck, `${name} has a healthcheck`);
  }
  assert.equal(all["kafka-ui"]!.depends_on?.["kafka"]?.condition, "service_healthy");

  const hostPorts = Object.values(all).flatMap((s) => [...published(s).keys()]);
  assert.equal(new Set(hostPorts).size, hostPorts.length, "two services publish one host port");
  const metricsPort = loadConfig({}).observability.metricsPort;
  assert.ok(!hostPorts.includes(metricsPort), `port ${metricsPort} is the worker's metrics port`);
});

Deno.test("Kafka is one KRaft node listening where the worker looks by default", async () => {
  const kafka = services()["kafka"]!;
  const env = Object.fromEntries(
    Object.entries(kafka.environment ?? {}).map(([k, v]) => [k, String(v)]),
  );
  assert.equal(env["KAFKA_PROCESS_ROLES"], "broker,controller");
  const [broker] = loadConfig({}).kafka.brokers;
  assert.equal(broker, "localhost:9092");
  assert.equal(await readmeDefault("KAFKA_BROKERS"), broker);
  const port = Number(broker!.split(":")[1]);

  const listeners = new Map(
    env["KAFKA_LISTENERS"]!.split(",").map((l) => {
      const [name, address] = l.split("://");
      return [name!, Number(address!.split(":").at(-1))];
    }),
  );
  const advertised = new Map(
    env["KAFKA_ADVERTISED_LISTENERS"]!.split(",").map((l) => {
      const [name, address] = l.split("://");
      return [name!, address!];
    }),
  );
  const hostListener = [...advertised].find(([, address]) => address === broker)?.[0];
  assert.ok(hostListener, `no listener advertises ${broker}`);
  assert.equal(published(kafka).get(port), listeners.get(hostListener));

  const controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]!;
  const voter = env["KAFKA_CONTROLLER_QUORUM_VOTERS"]!;
  assert.match(voter, new RegExp(`^${env["KAFKA_NODE_ID"]}@kafka:${listeners.get(controller)}$`));
  const protocols = env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]!;
  for (const name of listeners.keys()) assert.match(protocols, new RegExp(`\\b${name}:`));

  // The UI is a container: it must use a listener advertised under the service name.
  const ui = services()["kafka-ui"]!;
  const bootstrap = String(ui.environment?.["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"]);
  assert.ok([...advertised.values()].includes(bootstrap), `${bootstrap} is not advertised`);
  assert.match(bootstrap, /^kafka:\d+$/);
  assert.ok(published(ui).has(8080));
});

Deno.test("PostgreSQL and the mail catcher answer on the configuration defaults", async () => {
  const all = services();
  const config = loadConfig({});

  const database = new URL(config.database.url);
  const readmeDatabase = await readmeDefault("DATABASE_URL");
  if (readmeDatabase) assert.equal(readmeDatabase, config.database.url);
  const postgres = all["postgres"]!;
  const port = Number(database.port || 5432);
  assert.equal(published(postgres).get(port), 5432);
  assert.equal(postgres.environment?.["POSTGRES_USER"], database.username);
  assert.equal(postgres.environment?.["POSTGRES_DB"], database.pathname.slice(1));
  if (!database.password) {
    assert.equal(postgres.environment?.["POSTGRES_HOST_AUTH_METHOD"], "trust");
  }

  const smtp = config.mail.smtp;
  assert.equal(smtp.host, "localhost");
  const mailpit = all["mailpit"]!;
  assert.equal(published(mailpit).get(smtp.port), 1025);
  assert.equal(published(mailpit).get(8025), 8025);
});
