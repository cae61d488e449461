/**
 * What a fault drill runs against: its own Kafka broker and PostgreSQL
 * (so it can kill and restart them without disturbing anything else), the
 * in-process SMTP catcher, and real `deno task worker` processes it can
 * `kill -9`. Effects are counted where they land: one email per job, by the
 * `X-Jobpool-Event` header the catcher sees.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../src/config/mod.ts";
import { runMigrations } from "../../src/db/mod.ts";
import type { JobEvent } from "../../src/jobs/mod.ts";
import { createJobEvent, toJobMessage } from "../../src/jobs/mod.ts";
import { createIdempotentProducer, createKafkaClient } from "../../src/kafka/mod.ts";
import { ensureTopic } from "../../src/producer/mod.ts";
import postgres from "postgres";
import { type KafkaService, startKafka } from "../env/kafka.ts";
import { type PostgresService, startPostgres } from "../env/postgres.ts";
import { type SmtpCatcher, startSmtp } from "../env/smtp.ts";
import { workerV8Flags } from "../env/worker_flags.ts";

const WORKER_MAIN = fileURLToPath(new URL("../../src/worker/main.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));

/** The services of one drill. */
export interface DrillStack {
  /** The drill's own broker (killed and restarted by scenarios). */
  kafka: KafkaService;
  /** The drill's own PostgreSQL, durable (halted and restarted by scenarios). */
  postgres: PostgresService;
  /** The mail server, in process: counts effects, refuses on demand. */
  smtp: SmtpCatcher;
  /** Where logs go (workers' included). */
  logDir: string;
  /** Where progress lines go during long scenarios. */
  progress?: (line: string) => void;
  /** Stops everything. */
  stop(): Promise<void>;
}

/** Starts a broker, a durable PostgreSQL and the SMTP catcher, and migrates. */
export async function startStack(logDir: string): Promise<DrillStack> {
  await Deno.mkdir(logDir, { recursive: true });
  const [kafka, pg, smtp] = await Promise.all([
    startKafka({ logDir }),
    startPostgres({ logDir, durable: true }),
    startSmtp({ parse: "headers" }),
  ]);
  await runMigrations({ url: pg.url });
  return {
    kafka,
    postgres: pg,
    smtp,
    logDir,
    async stop() {
      await Promise.allSettled([kafka.stop(), pg.stop(), smtp.stop()]);
    },
  };
}

/** A scenario's own topic, group and users, with jobs ready to produce. */
export interface Workload {
  /** Topic and group names. */
  topic: string;
  /** The consumer group. */
  group: string;
  /** Every job, in production order. */
  jobs: JobEvent[];
}

/**
 * Creates `campaigns` campaigns with users enough for `jobs` welcome emails
 * (one user per job) and returns the welcome jobs, spread over the campaigns
 * (the message key) and interleaved as real traffic would be.
 */
export async function createJobs(
  stack: DrillStack,
  options: { name: string; jobs: number; campaigns: number },
): Promise<JobEvent[]> {
  const suffix = crypto.randomUUID().slice(0, 8);
  const sql = postgres(stack.postgres.url, { max: 2, onnotice: () => {} });
  const jobs: JobEvent[] = [];
  try {
    const perCampaign = Math.ceil(options.jobs / options.campaigns);
    for (let c = 0; c < options.campaigns; c++) {
      const [campaign] = await sql<{ id: string; account_id: string }[]>`
        insert into campaigns (account_id, name)
        values (gen_random_uuid(), ${`Drill ${options.name} ${c}`})
        returning id, account_id
      `;
      const users = await sql<{ id: string }[]>`
        insert into waitlist_users
          (campaign_id, email, name, original_position, position, referral_code)
        select ${campaign!.id}, 'u' || n || '.' || ${suffix} || '.' || ${c} || '@drill.test',
          'User ' || n, n, n, ${`${suffix}-${c}-`} || n
        from generate_series(1, ${perCampaign}) as n
        returning id
      `;
      for (const user of users) {
        jobs.push(createJobEvent({
          type: "job.email.welcome",
          accountId: campaign!.account_id,
          campaignId: campaign!.id,
          data: { type: "welcome", campaign_id: campaign!.id, user_id: user.id, priority: 1 },
        }));
      }
    }
  } finally {
    await sql.end();
  }
  jobs.sort((a, b) => a.id < b.id ? -1 : 1);
  jobs.length = Math.min(jobs.length, options.jobs);
  return jobs;
}

/** A fresh topic (and group) for `jobs`. */
export async function newWorkload(
  stack: DrillStack,
  options: { name: string; jobs: JobEvent[]; partitions?: number },
): Promise<Workload> {
  const suffix = crypto.randomUUID().slice(0, 8);
  const topic = `drill-${options.name}-${suffix}`;
  await ensureTopic({
    kafka: kafkaConfig(stack, topic).kafka,
    partitions: options.partitions ?? 10,
  });
  return { topic, group: topic, jobs: options.jobs };
}

function kafkaConfig(stack: DrillStack, topic: string) {
  return loadConfig({ KAFKA_BROKERS: stack.kafka.brokers.join(","), KAFKA_JOB_TOPIC: topic });
}

/** Publishes `jobs` to the workload's topic, in batches. */
export async function produce(
  stack: DrillStack,
  workload: Workload,
  jobs: readonly JobEvent[] = workload.jobs,
): Promise<void> {
  const producer = createIdempotentProducer(
    createKafkaClient(kafkaConfig(stack, workload.topic).kafka),
  );
  await producer.connect();
  try {
    for (let i = 0; i < jobs.length; i += 1_000) {
      await producer.send({
        topic: workload.topic,
        acks: -1,
        messages: jobs.slice(i, i + 1_000).map((job) => toJobMessage(job)),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** A `deno task worker` process of the drill. */
export interface WorkerProcess {
  /** Its number in the scenario (1 for the first). */
  readonly n: number;
  /** Its log file. */
  readonly logPath: string;
  /** Kills it at once (SIGKILL). */
  kill(): Promise<void>;
  /** Stops it gracefully (SIGTERM) and resolves with its exit code. */
  stop(): Promise<number>;
}

/** Starts `deno task worker` (the real main, handlers and all) for the workload. */
export async function startWorker(
  stack: DrillStack,
  workload: Workload,
  options: { n: number; env?: Record<string, string> },
): Promise<WorkerProcess> {
  const logPath = join(stack.logDir, `${workload.topic}-worker-${options.n}.log`);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      CONFIG,
      ...workerV8Flags(),
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-sys",
      "--allow-run",
      WORKER_MAIN,
    ],
    env: {
      KAFKA_BROKERS: stack.kafka.brokers.join(","),
      KAFKA_JOB_TOPIC: workload.topic,
      KAFKA_JOB_CONSUMER_GROUP: workload.group,
      DATABASE_URL: stack.postgres.url,
      DATABASE_MIGRATE_ON_START: "false",
      SMTP_URL: stack.smtp.url,
      SMTP_STARTTLS: "off",
      METRICS_PORT: "0",
      LOG_LEVEL: "info",
      ...options.env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Both streams into one log file (stdout: the start-up block; stderr: JSON log lines).
  const file = await Deno.open(logPath, { create: true, append: true });
  const copy = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      let written = 0;
      while (written < chunk.length) written += await file.write(chunk.subarray(written));
    }
  };
  const copying = Promise.allSettled([copy(child.stdout), copy(child.stderr)]).finally(() =>
    file.close()
  );
  const status = child.status;
  return {
    n: options.n,
    logPath,
    async kill() {
      try {
        child.kill("SIGKILL");
      } catch { /* gone already */ }
      await status;
      await copying.catch(() => {});
    },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone already */ }
      const { code } = await status;
      await copying.catch(() => {});
      return code;
    },
  };
}

/** Counts effects (emails per job id) and samples progress over time. */
export class EffectCounter {
  readonly #smtp: SmtpCatcher;
  readonly #ids: Set<string>;
  #read = 0;
  readonly effects = new Map<string, number>();
  readonly samples: { at: number; done: number }[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Counts the emails of `jobs` the catcher receives from now on. */
  constructor(smtp: SmtpCatcher, jobs: readonly JobEvent[]) {
    this.#smtp = smtp;
    this.#ids = new Set(jobs.map((job) => job.id));
    this.#read = smtp.messages.length;
  }

  /** Jobs with at least one effect. */
  get done(): number {
    this.#catchUp();
    return this.effects.size;
  }

  /** Samples progress every `intervalMs`. */
  start(intervalMs = 200): void {
    this.#timer = setInterval(
      () => this.samples.push({ at: Date.now(), done: this.done }),
      intervalMs,
    );
  }

  /** Stops sampling. */
  stop(): void {
    clearInterval(this.#timer);
  }

  /** The time of the first sample at or after `from` whose count exceeds the count at `from`. */
  firstProgressAfter(from: number): number | undefined {
    let base: number | undefined;
    for (const { at, done } of this.samples) {
      if (at < from) {
        base = done;
        continue;
      }
      base ??= done;
      if (done > base) return at;
    }
    return undefined;
  }

  #catchUp(): void {
    const messages = this.#smtp.messages;
    for (; this.#read < messages.length; this.#read++) {
      const id = messages[this.#read]!.headers.get("x-jobpool-event");
      if (id === undefined || !this.#ids.has(id)) continue;
      this.effects.set(id, (this.effects.get(id) ?? 0) + 1);
    }
  }
}

/** Job ids found in the workload's dead-letter topic. */
export async function deadLetteredIds(stack: DrillStack, workload: Workload): Promise<Set<string>> {
  const kafka = createKafkaClient(kafkaConfig(stack, workload.topic).kafka);
  const admin = kafka.admin();
  await admin.connect();
  const dlq = `${workload.topic}.dlq`;
  let total = 0;
  try {
    const offsets = await admin.fetchTopicOffsets(dlq).catch(() => []);
    total = offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
  const ids = new Set<string>();
  if (total === 0) return ids;
  const consumer = kafka.consumer({ groupId: `reader-${crypto.randomUUID()}` });
  await consumer.connect();
  try {
    let seen = 0;
    const { promise, resolve } = Promise.withResolvers<void>();
    await consumer.subscribe({ topics: [dlq], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        const id = message.headers?.["job-id"]?.toString();
        if (id) ids.add(id);
        if (++seen >= total) resolve();
        return Promise.resolve();
      },
    });
    await Promise.race([promise, new Promise((r) => setTimeout(r, 30_000))]);
  } finally {
    await consumer.disconnect();
  }
  return ids;
}

/** True once the group's commits reach every partition's log end within `timeoutMs`. */
export async function commitsCaughtUp(
  stack: DrillStack,
  workload: Workload,
  timeoutMs: number,
): Promise<boolean> {
  const admin = createKafkaClient(kafkaConfig(stack, workload.topic).kafka).admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [ends, [committed]] = await Promise.all([
        admin.fetchTopicOffsets(workload.topic),
        admin.fetchOffsets({ groupId: workload.group, topics: [workload.topic] }),
      ]);
      const byPartition = new Map(
        (committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]),
      );
      // A partition that never held a message has nothing to commit.
      const caughtUp = (end: { partition: number; high: string; low: string }) =>
        byPartition.get(end.partition) === Number(end.high) || end.high === end.low;
      if (ends.every(caughtUp)) {
        const waited = timeoutMs - (deadline - Date.now());
        if (waited > 1_000) {
          stack.progress?.(`commits caught up after ${(waited / 1000).toFixed(1)} s`);
        }
        return true;
      }
      if (Date.now() > deadline) {
        const behind = ends.filter((end) => !caughtUp(end))
          .map((end) => `${end.partition}: ${byPartition.get(end.partition)} of ${end.high}`);
        stack.progress?.(`commits behind the log end: ${behind.join(", ")}`);
        return false;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await admin.disconnect();
  }
}

/** How many possible duplicates the workers' logs announced. */
export async function announcedDuplicates(workers: readonly WorkerProcess[]): Promise<number> {
  let count = 0;
  for (const worker of workers) {
    const text = await Deno.readTextFile(worker.logPath).catch(() => "");
    count += text.split("\n").filter((line) => line.includes("may be sent twice")).length;
  }
  return count;
}

/** Waits until `condition` holds or `timeoutMs` passes; returns whether it held. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  pollMs = 100,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!await condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return true;
}
