/**
 * A real, single-node Apache Kafka broker (KRaft) for tests and local runs,
 * started from jars fetched off Maven Central with Maven and kept in the
 * user-level cache.
 *
 * @module
 */

import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { fixKafkaRequestQueue } from "../../src/kafka/mod.ts";
import { cacheDir, exists } from "./cache.ts";
import { createCertificateAuthority, issueCertificate } from "./certs.ts";
import { freePort, run, ServiceStartError, startProcess, waitFor } from "./process.ts";

/** The Apache Kafka release the harness runs (`org.apache.kafka:kafka_2.13`). */
export const KAFKA_VERSION = "4.4.0";

/** The log4j2 backend added beside Kafka, whose POM brings none. */
const LOG4J_VERSION = "2.24.3";

/** The Maven plugin that copies the resolved jars into one folder. */
const DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1";

/** Written into the cache folder, holding the POM, once every jar is in place. */
const COMPLETE_MARKER = ".complete";

/** The user of the SASL listener, for every mechanism. */
const SASL_USER = "jobpool";

/** The password of {@linkcode SASL_USER}. */
const SASL_PASSWORD = "jobpool-secret";

/** The SASL mechanisms the SASL listener accepts, as kafkajs names them. */
const SASL_MECHANISMS = ["plain", "scram-sha-256", "scram-sha-512"] as const;

/** A SASL mechanism of the broker's SASL_PLAINTEXT listener, as kafkajs names it. */
export type KafkaSaslMechanism = typeof SASL_MECHANISMS[number];

/** How long {@linkcode startKafka} waits for the broker to be ready. */
const READY_TIMEOUT_MS = 90_000;

/** A running broker started by {@linkcode startKafka}. */
export interface KafkaService {
  /** Bootstrap servers of the PLAINTEXT listener, e.g. `["127.0.0.1:40123"]`. */
  brokers: string[];
  /** Bootstrap servers of the SASL_PLAINTEXT listener (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512). */
  saslBrokers: string[];
  /** The mechanisms {@linkcode KafkaService.saslBrokers} accepts, as kafkajs names them. */
  saslMechanisms: readonly KafkaSaslMechanism[];
  /** The user known to every SASL mechanism. */
  saslUser: string;
  /** The password of {@linkcode KafkaService.saslUser}. */
  saslPassword: string;
  /** Bootstrap servers of the SSL listener (TLS, no client authentication). */
  tlsBrokers: string[];
  /** The CA certificate (PEM) that verifies the SSL listener's certificate (for 127.0.0.1). */
  tlsCaPem: string;
  /** The version the broker reports in its log, e.g. `4.4.0`. */
  version: string;
  /** The broker's log file (stdout, stderr and log4j2 output). */
  logPath: string;
  /** Kills the broker at once (SIGKILL), as a crash would; its storage stays. */
  kill(): Promise<void>;
  /**
   * Starts the killed broker again on the same ports and storage; resolves
   * once it serves consumer groups again.
   */
  restart(): Promise<void>;
  /** Stops the broker (SIGTERM, SIGKILL after a grace period) and removes its storage. */
  stop(): Promise<void>;
}

/** Options for {@linkcode startKafka}. */
export interface StartKafkaOptions {
  /** Folder for the broker's log file `kafka.log`. */
  logDir: string;
  /**
   * Folder in which the broker's temporary working folder (configuration and
   * storage) is created; the system's temporary folder when omitted. The
   * working folder is removed on stop.
   */
  dataDir?: string;
}

/**
 * Makes sure the jars of Kafka {@linkcode KAFKA_VERSION} and a log4j2 backend
 * are in the cache, fetching them with Maven on first use (a one-line notice
 * goes to stderr then). Later calls only check a marker file.
 *
 * @returns The folder holding every jar the broker needs.
 */
export async function ensureKafkaJars(): Promise<string> {
  const root = await cacheDir("kafka", KAFKA_VERSION);
  const libs = join(root, "libs");
  const marker = join(root, COMPLETE_MARKER);
  const pomText = kafkaPom();
  // The marker holds the POM the jars came from: a changed recipe refetches.
  if (await exists(marker) && await Deno.readTextFile(marker) === pomText) return libs;

  console.error(
    `Fetching Apache Kafka ${KAFKA_VERSION} jars with Maven into ${libs} (first run only)...`,
  );
  const pom = join(root, "pom.xml");
  await Deno.writeTextFile(pom, pomText);
  // Download into a private folder, then move it in place, so that a run
  // killed halfway or a concurrent run never leaves a partial `libs`.
  const staging = await Deno.makeTempDir({ dir: root, prefix: "libs-" });
  try {
    try {
      await run("mvn", [
        "-q",
        "-B",
        "-f",
        pom,
        `${DEPENDENCY_PLUGIN}:copy-dependencies`,
        `-DoutputDirectory=${staging}`,
        "-DincludeScope=runtime",
      ], { what: "Fetching the Kafka jars with Maven" });
    } catch (error) {
      throw new Error(
        `Cannot fetch the Kafka ${KAFKA_VERSION} jars: make sure Maven (mvn) is on PATH and ` +
          `Maven Central is reachable, then run again. ${error}`,
      );
    }
    // A concurrent first run may have finished meanwhile: keep its jars.
    if (await exists(marker) && await Deno.readTextFile(marker) === pomText) return libs;
    if (await exists(libs)) await Deno.remove(libs, { recursive: true });
    await Deno.rename(staging, libs);
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
  await Deno.writeTextFile(marker, pomText);
  return libs;
}

/**
 * Starts a single-node KRaft broker (broker and controller in one process)
 * on free ports of 127.0.0.1 and waits until it serves consumer groups and
 * idempotent producers.
 *
 * The broker has a PLAINTEXT listener, a SASL_PLAINTEXT listener taking
 * PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 for one user, and an SSL listener
 * whose certificate (for 127.0.0.1 and localhost) a CA of its own signs.
 * Every internal topic has replication factor 1 and topics are not created
 * automatically: tests create the topics they use.
 *
 * @throws {ServiceStartError} When the broker does not come up; the error
 * shows the tail of its log.
 */
export async function startKafka(options: StartKafkaOptions): Promise<KafkaService> {
  const libs = await ensureKafkaJars();
  await Deno.mkdir(options.logDir, { recursive: true });
  if (options.dataDir) await Deno.mkdir(options.dataDir, { recursive: true });
  for (let attempt = 1;; attempt++) {
    try {
      return await startBroker(libs, options);
    } catch (error) {
      // Another process may take a free port before the broker binds it.
      const portTaken = String(error).includes("Address already in use");
      if (!portTaken || attempt === START_ATTEMPTS) throw error;
    }
  }
}

/** How often {@linkcode startKafka} tries when a port was taken meanwhile. */
const START_ATTEMPTS = 3;

/** One attempt of {@linkcode startKafka}: format fresh storage, start, wait. */
async function startBroker(libs: string, options: StartKafkaOptions): Promise<KafkaService> {
  const workDir = await Deno.makeTempDir({
    prefix: "jobpool-kafka-",
    ...(options.dataDir ? { dir: options.dataDir } : {}),
  });
  try {
    const [plain = 0, sasl = 0, controller = 0, ssl = 0] = distinctFreePorts(4);
    const ports = { plain, sasl, controller, ssl };
    const configPath = join(workDir, "server.properties");
    const log4jPath = join(workDir, "log4j2.properties");
    const tls = await tlsKeystore(workDir);
    await Deno.writeTextFile(
      configPath,
      serverProperties({ dataDir: join(workDir, "data"), ports, keystore: tls.keystore }),
    );
    await Deno.writeTextFile(log4jPath, LOG4J2_PROPERTIES);
    const java = (mainClass: string) => [
      // Serial GC and C1 only: starts faster and needs ~20% less memory than
      // the defaults, which is what a test broker wants.
      "-Xms64m",
      "-Xmx512m",
      "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1",
      "-Djava.awt.headless=true",
      `-Dlog4j2.configurationFile=${log4jPath}`,
      "-cp",
      `${libs}/*`,
      mainClass,
    ];

    const scram = SASL_MECHANISMS.filter((m) => m.startsWith("scram-")).flatMap((m) => [
      "--add-scram",
      `${m.toUpperCase()}=[name=${SASL_USER},password=${SASL_PASSWORD}]`,
    ]);
    await run("java", [
      ...java("kafka.tools.StorageTool"),
      "format",
      "--cluster-id",
      clusterId(),
      "--config",
      configPath,
      ...scram,
    ], { what: "Formatting the Kafka storage" });

    const brokers = [`127.0.0.1:${ports.plain}`];
    const launch = async () => {
      // The log file is appended to across runs: only read what this run writes.
      const logFile = join(options.logDir, "kafka.log");
      const logStart = (await Deno.stat(logFile).catch(() => null))?.size ?? 0;
      const process = await startProcess({
        name: "kafka",
        command: "java",
        args: [...java("kafka.Kafka"), configPath],
        logDir: options.logDir,
      });
      let version: string | undefined;
      try {
        await waitFor(async () => {
          version ??= await reportedVersion(process.logPath, logStart);
          return version !== undefined && await brokerReady(brokers);
        }, {
          timeoutMs: READY_TIMEOUT_MS,
          what: "the broker to report its version and serve consumer groups and producer ids",
          process,
        });
      } catch (error) {
        await process.stop();
        throw error;
      }
      return { process, version: version ?? KAFKA_VERSION };
    };
    let { process: broker, version } = await launch();

    return {
      brokers,
      saslBrokers: [`127.0.0.1:${ports.sasl}`],
      saslMechanisms: SASL_MECHANISMS,
      saslUser: SASL_USER,
      saslPassword: SASL_PASSWORD,
      tlsBrokers: [`127.0.0.1:${ports.ssl}`],
      tlsCaPem: tls.caPem,
      version,
      logPath: broker.logPath,
      async kill() {
        try {
          broker.child.kill("SIGKILL");
        } catch { /* gone already */ }
        await broker.stop(0);
      },
      async restart() {
        ({ process: broker, version } = await launch());
      },
      async stop() {
        await broker.stop(15_000);
        await Deno.remove(workDir, { recursive: true }).catch(() => {});
      },
    };
  } catch (error) {
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
    if (error instanceof ServiceStartError) throw error;
    const reason = error instanceof Deno.errors.NotFound
      ? `java is not on PATH (${error.message}): install a Java 17 or newer runtime`
      : String(error);
    throw new ServiceStartError("kafka", reason, "");
  }
}

/** `count` different free ports of 127.0.0.1. */
function distinctFreePorts(count: number): number[] {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(freePort());
  return [...ports];
}

/** The throwaway POM whose runtime dependencies are the broker's classpath. */
function kafkaPom(): string {
  const dependency = (group: string, artifact: string, version: string) =>
    `    <dependency><groupId>${group}</groupId><artifactId>${artifact}</artifactId>` +
    `<version>${version}</version></dependency>`;
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<project xmlns="http://maven.apache.org/POM/4.0.0">`,
    `  <modelVersion>4.0.0</modelVersion>`,
    `  <groupId>jobpool.test</groupId>`,
    `  <artifactId>kafka-broker-jars</artifactId>`,
    `  <version>${KAFKA_VERSION}</version>`,
    `  <packaging>pom</packaging>`,
    `  <dependencies>`,
    dependency("org.apache.kafka", "kafka_2.13", KAFKA_VERSION),
    dependency("org.apache.logging.log4j", "log4j-api", LOG4J_VERSION),
    dependency("org.apache.logging.log4j", "log4j-core", LOG4J_VERSION),
    // Kafka logs through SLF4J 1.7 (slf4j-api 1.7.36 wins Maven's resolution),
    // so it needs log4j's SLF4J 1.x binding: the 2.x one would leave it mute.
    dependency("org.apache.logging.log4j", "log4j-slf4j-impl", LOG4J_VERSION),
    `  </dependencies>`,
    `</project>`,
    ``,
  ].join("\n");
}

/**
 * A CA and a server certificate for the SSL listener, the key and chain in
 * one PEM file (Kafka's PEM keystore, unencrypted PKCS#8 key).
 */
async function tlsKeystore(workDir: string): Promise<{ keystore: string; caPem: string }> {
  const dir = join(workDir, "tls");
  await Deno.mkdir(dir);
  const ca = await createCertificateAuthority(dir, "kafka-ca");
  const server = await issueCertificate(ca, dir, "kafka", {
    commonName: "kafka",
    hosts: ["127.0.0.1", "localhost"],
    usage: "server",
  });
  const keystore = join(dir, "keystore.pem");
  await Deno.writeTextFile(
    keystore,
    (await Deno.readTextFile(server.keyFile)) + (await Deno.readTextFile(server.certFile)) +
      ca.certPem,
  );
  return { keystore, caPem: ca.certPem };
}

/** What {@linkcode serverProperties} needs. */
interface BrokerSettings {
  dataDir: string;
  ports: { plain: number; sasl: number; controller: number; ssl: number };
  /** The SSL listener's PEM keystore (key and certificate chain). */
  keystore: string;
}

/** The broker's configuration. */
function serverProperties({ dataDir, ports, keystore }: BrokerSettings): string {
  const jaas = (module: string, extra = "") =>
    `org.apache.kafka.common.security.${module} required${extra};`;
  const settings: Record<string, string | number | boolean> = {
    "process.roles": "broker,controller",
    "node.id": 1,
    "controller.quorum.voters": `1@127.0.0.1:${ports.controller}`,
    "listeners": [
      `PLAINTEXT://127.0.0.1:${ports.plain}`,
      `SASL_PLAINTEXT://127.0.0.1:${ports.sasl}`,
      `CONTROLLER://127.0.0.1:${ports.controller}`,
      `SSL://127.0.0.1:${ports.ssl}`,
    ].join(","),
    "advertised.listeners": [
      `PLAINTEXT://127.0.0.1:${ports.plain}`,
      `SASL_PLAINTEXT://127.0.0.1:${ports.sasl}`,
      `SSL://127.0.0.1:${ports.ssl}`,
    ].join(","),
    "listener.security.protocol.map":
      "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL",
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "log.dirs": dataDir,
    "num.partitions": 1,
    "default.replication.factor": 1,
    "auto.create.topics.enable": false,
    "offsets.topic.replication.factor": 1,
    "offsets.topic.num.partitions": 1,
    "transaction.state.log.replication.factor": 1,
    "transaction.state.log.min.isr": 1,
    "transaction.state.log.num.partitions": 1,
    "share.coordinator.state.topic.replication.factor": 1,
    "share.coordinator.state.topic.min.isr": 1,
    "share.coordinator.state.topic.num.partitions": 1,
    "group.initial.rebalance.delay.ms": 0,
    "sasl.enabled.mechanisms": SASL_MECHANISMS.map((m) => m.toUpperCase()).join(","),
    "listener.name.sasl_plaintext.plain.sasl.jaas.config": jaas(
      "plain.PlainLoginModule",
      ` user_${SASL_USER}="${SASL_PASSWORD}"`,
    ),
    "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config": jaas(
      "scram.ScramLoginModule",
    ),
    "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": jaas(
      "scram.ScramLoginModule",
    ),
    "listener.name.ssl.ssl.keystore.type": "PEM",
    "listener.name.ssl.ssl.keystore.location": keystore,
  };
  return Object.entries(settings).map(([key, value]) => `${key}=${value}\n`).join("");
}

/**
 * log4j2 configuration: INFO (WARN for chatty loggers such as the configuration
 * dumps) to stdout, which lands in the log file. Kafka's own shutdown hook
 * logs until the end, so log4j's hook is off.
 */
const LOG4J2_PROPERTIES = `status = warn
shutdownHook = disable
appender.out.type = Console
appender.out.name = out
appender.out.target = SYSTEM_OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
logger.clients.name = org.apache.kafka.clients
logger.clients.level = warn
logger.state.name = state.change.logger
logger.state.level = warn
logger.request.name = kafka.request.logger
logger.request.level = warn
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = warn
`;

/** A random cluster id in Kafka's format: 16 bytes, URL-safe base64 without padding. */
function clusterId(): string {
  for (;;) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    const id = btoa(String.fromCharCode(...bytes))
      .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
    // Kafka's own generator avoids ids starting with "-" (they read as flags).
    if (!id.startsWith("-")) return id;
  }
}

/**
 * True when a client can reach the cluster, the group coordinator answers and
 * an idempotent producer gets its producer id (so the first test does not
 * meet a coordinator that is still loading).
 */
async function brokerReady(brokers: string[]): Promise<boolean> {
  fixKafkaRequestQueue(); // as jobpool's own clients have it: no idle busy loop, no warning
  const client = new Kafka({
    clientId: "jobpool-kafka-probe",
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 5_000,
    retry: { retries: 0 },
  });
  const admin = client.admin();
  // kafkajs refuses an idempotent producer without retries.
  const producer = client.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    retry: { retries: 1, initialRetryTime: 100 },
  });
  try {
    await admin.connect();
    await admin.describeCluster();
    await admin.describeGroups(["jobpool-kafka-probe"]);
    await producer.connect();
    return true;
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

/** The version the broker printed at start-up, read from byte `from` of its log. */
async function reportedVersion(logPath: string, from: number): Promise<string | undefined> {
  const log = await Deno.readFile(logPath).catch(() => new Uint8Array());
  const text = new TextDecoder().decode(log.subarray(from));
  return /Kafka version: (\S+)/.exec(text)?.[1];
}
