/**
 * The drill's scenarios. Each produces welcome-email jobs for real users,
 * runs real `deno task worker` processes against them, injects its fault
 * for real (SIGKILL of the worker, SIGKILL of the broker, a PostgreSQL
 * shutdown, an SMTP server answering 4xx then 5xx, keys whose claims are
 * held) and counts what landed: emails per job at the SMTP server, dead
 * letters in the dead-letter topic, the group's commits.
 *
 * @module
 */

import postgres from "postgres";
import type { JobEvent } from "../../src/jobs/mod.ts";
import { countEffects, longestStall, type ScenarioResult } from "./report.ts";
import {
  announcedDuplicates,
  commitsCaughtUp,
  createJobs,
  deadLetteredIds,
  type DrillStack,
  EffectCounter,
  newWorkload,
  produce,
  startWorker,
  waitUntil,
  type WorkerProcess,
  type Workload,
} from "./stack.ts";

/** How big a drill is. */
export interface DrillSize {
  /** Jobs of the kill scenario. */
  jobs: number;
  /** Worker kills in the kill scenario. */
  kills: number;
  /** How long the broker stays down. */
  brokerDownMs: number;
  /** How long PostgreSQL stays down. */
  postgresDownMs: number;
  /** How long the SMTP server answers 4xx. */
  smtpDeferMs: number;
  /** Jobs of each outage scenario. */
  outageJobs: number;
}

/** The full drill (`deno task drill`): the issue's targets. */
export const FULL: DrillSize = {
  jobs: 20_000,
  kills: 5,
  brokerDownMs: 120_000,
  postgresDownMs: 600_000,
  smtpDeferMs: 600_000,
  outageJobs: 5_000,
};

/** The reduced drill that runs inside `deno task test`. */
export const REDUCED: DrillSize = {
  jobs: 2_000,
  kills: 2,
  brokerDownMs: 20_000,
  postgresDownMs: 20_000,
  smtpDeferMs: 20_000,
  outageJobs: 1_000,
};

/** The worker settings every drill worker runs with (defaults otherwise). */
const WORKER_ENV = { KAFKA_WORKER_POOL_SIZE: "10", SMTP_POOL_SIZE: "5" };

/** A running scenario: its workload, effects, workers and fault windows. */
interface Run {
  stack: DrillStack;
  workload: Workload;
  counter: EffectCounter;
  workers: WorkerProcess[];
  current: WorkerProcess;
  /** Deliberate outage windows: no stall is counted inside them. */
  faults: { from: number; to: number }[];
  /** Resume time after each fault. */
  resumes: number[];
  /** Prints a progress line every 10 s. */
  ticker?: ReturnType<typeof setInterval>;
}

async function begin(
  stack: DrillStack,
  options: {
    name: string;
    jobs: number;
    campaigns: number;
    /** Jobs enqueued before the worker starts (the scenario enqueues the rest). @default all */
    enqueued?: number;
  },
): Promise<Run> {
  const jobs = await createJobs(stack, options);
  const workload = await newWorkload(stack, { name: options.name, jobs });
  await produce(stack, workload, jobs.slice(0, options.enqueued ?? jobs.length));
  const counter = new EffectCounter(stack.smtp, jobs);
  counter.start();
  const current = await startWorker(stack, workload, { n: 1, env: WORKER_ENV });
  const ticker = setInterval(() => {
    stack.progress?.(`${options.name}: ${counter.done} of ${jobs.length} jobs done`);
  }, 10_000);
  return { stack, workload, counter, workers: [current], current, faults: [], resumes: [], ticker };
}

/** Waits until `fraction` of the jobs have their effect. */
async function progress(run: Run, fraction: number, timeoutMs = 600_000): Promise<void> {
  const target = Math.ceil(run.workload.jobs.length * fraction);
  if (!await waitUntil(() => run.counter.done >= target, timeoutMs)) {
    throw new Error(
      `Drill stalled: ${run.counter.done} of ${target} effects after ${timeoutMs} ms`,
    );
  }
}

/**
 * Runs `fault` as a window from now to when it returns; measures the resume
 * after it (unless the fault ends jobs for good, as a 5xx does).
 */
async function fault(
  run: Run,
  inject: () => Promise<void>,
  options: { measureResume: boolean } = { measureResume: true },
): Promise<void> {
  const from = Date.now();
  await inject();
  const to = Date.now();
  run.faults.push({ from, to });
  const remaining = run.workload.jobs.length - run.counter.done;
  if (remaining > 0 && options.measureResume) {
    await waitUntil(() => run.counter.firstProgressAfter(to) !== undefined, 120_000);
    const resumed = run.counter.firstProgressAfter(to);
    if (resumed !== undefined) run.resumes.push((resumed - to) / 1000);
  }
}

/** Waits for every job (or `expectedOther` of them otherwise accounted for), then measures. */
async function finish(
  run: Run,
  options: { name: string; fault: string; started: number; rightly?: Set<string> },
): Promise<ScenarioResult> {
  const rightly = options.rightly ?? new Set<string>();
  const ids = run.workload.jobs.map((job) => job.id);
  const total = ids.length;
  await waitUntil(
    () =>
      run.counter.done + [...rightly].filter((id) => !run.counter.effects.has(id)).length >= total,
    900_000,
  );
  // Late copies, if any, come within a lease or two.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  // A consumer that lost the broker re-joins through kafkajs's restart backoff
  // (up to ~10 s once the broker is back, see "resume"): its commits follow then.
  const caughtUp = await commitsCaughtUp(run.stack, run.workload, 30_000);
  run.counter.stop();
  clearInterval(run.ticker);
  const code = await run.current.stop();
  const deadLettered = await deadLetteredIds(run.stack, run.workload);
  const rightful = new Set([...deadLettered].filter((id) => rightly.has(id)));
  const counts = countEffects(ids, run.counter.effects, rightful);
  return {
    name: options.name,
    fault: options.fault,
    jobs: total,
    ...counts,
    announced: await announcedDuplicates(run.workers),
    wronglyDeadLettered: deadLettered.size - rightful.size,
    rightlyDeadLettered: rightful.size,
    longestStallSeconds: longestStall(run.counter.samples, {
      total: total - rightful.size,
      faults: run.faults,
    }),
    resumeSeconds: run.resumes.length === 0 ? undefined : Math.max(...run.resumes),
    commitsCaughtUp: caughtUp && code === 0,
    seconds: Math.round((Date.now() - options.started) / 100) / 10,
  };
}

/** `kill -9` of the worker `size.kills` times while it works; a new one starts 1 s later. */
export async function killWorkers(stack: DrillStack, size: DrillSize): Promise<ScenarioResult> {
  const started = Date.now();
  const run = await begin(stack, { name: "kills", jobs: size.jobs, campaigns: 40 });
  for (let kill = 1; kill <= size.kills; kill++) {
    await progress(run, kill / (size.kills + 1));
    await fault(run, async () => {
      await run.current.kill();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      run.current = await startWorker(stack, run.workload, { n: kill + 1, env: WORKER_ENV });
      run.workers.push(run.current);
    });
  }
  return await finish(run, {
    name: `kill -9 x${size.kills}`,
    fault: `SIGKILL of the worker ${size.kills} times, restarted 1 s later`,
    started,
  });
}

/**
 * A dependency taken down at 30% of the jobs and brought back `downMs`
 * later: the outage scenarios' common shape.
 */
async function outage(
  stack: DrillStack,
  options: {
    name: string;
    title: string;
    fault: string;
    jobs: number;
    downMs: number;
    down: () => Promise<void>;
    up: () => Promise<void>;
  },
): Promise<ScenarioResult> {
  const started = Date.now();
  const run = await begin(stack, { name: options.name, jobs: options.jobs, campaigns: 40 });
  await progress(run, 0.3);
  await fault(run, async () => {
    await options.down();
    await new Promise((resolve) => setTimeout(resolve, options.downMs));
    await options.up();
  });
  return await finish(run, { name: options.title, fault: options.fault, started });
}

/**
 * The broker killed (SIGKILL) mid-run and restarted `size.brokerDownMs`
 * later. Half the jobs are in the topic before; the worker finishes what it
 * fetched while the broker is away (their commits wait). The other half is
 * enqueued once the broker is back, so "resume" is how soon the worker takes
 * new work after the broker's return (its group re-join), whatever its
 * buffer held.
 */
export async function killBroker(stack: DrillStack, size: DrillSize): Promise<ScenarioResult> {
  const started = Date.now();
  const half = Math.floor(size.outageJobs / 2);
  const run = await begin(stack, {
    name: "broker",
    jobs: size.outageJobs,
    campaigns: 40,
    enqueued: half,
  });
  const late = run.workload.jobs.slice(half);
  const lateCounter = new EffectCounter(stack.smtp, late);
  await progress(run, 0.15);
  const from = Date.now();
  await stack.kafka.kill();
  await new Promise((resolve) => setTimeout(resolve, size.brokerDownMs));
  await stack.kafka.restart();
  await produce(stack, run.workload, late);
  const enqueuedAt = Date.now();
  // Until the late jobs are in the topic the worker had nothing to wait for.
  run.faults.push({ from, to: enqueuedAt });
  if (await waitUntil(() => lateCounter.done > 0, 120_000, 50)) {
    run.resumes.push((Date.now() - enqueuedAt) / 1000);
  }
  return await finish(run, {
    name: `broker down ${size.brokerDownMs / 1000} s`,
    fault: "SIGKILL of the broker, restarted on the same storage; half the jobs enqueued after",
    started,
  });
}

/** PostgreSQL shut down (fast: sessions terminated) mid-run, started `size.postgresDownMs` later. */
export function stopPostgres(stack: DrillStack, size: DrillSize): Promise<ScenarioResult> {
  return outage(stack, {
    name: "postgres",
    title: `PostgreSQL down ${size.postgresDownMs / 1000} s`,
    fault: "fast shutdown of PostgreSQL, restarted on the same data",
    jobs: size.outageJobs,
    downMs: size.postgresDownMs,
    down: () => stack.postgres.halt("fast"),
    up: () => stack.postgres.restart(),
  });
}

/**
 * The SMTP server defers everything (451, as greylisting does) for
 * `size.smtpDeferMs`, then refuses everything for good (550) for 3 s: the
 * deferred mails are sent once it accepts again, the refused ones are
 * dead-lettered (rightly).
 */
export async function smtpRefusals(stack: DrillStack, size: DrillSize): Promise<ScenarioResult> {
  const started = Date.now();
  const run = await begin(stack, { name: "smtp", jobs: size.outageJobs, campaigns: 40 });
  await progress(run, 0.3);
  await fault(run, async () => {
    stack.smtp.rejectAll(451, "4.7.1 Greylisted, please try again later");
    await new Promise((resolve) => setTimeout(resolve, size.smtpDeferMs));
    stack.smtp.acceptAll();
  });
  await progress(run, 0.6);
  const refusedFrom = stack.smtp.rejected.length;
  await fault(run, async () => {
    stack.smtp.rejectAll(550, "5.1.1 Mailbox unavailable");
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    stack.smtp.acceptAll();
  }, { measureResume: false });
  const refused = new Set(
    stack.smtp.rejected.slice(refusedFrom).filter((r) => r.code >= 500)
      .map((r) => r.headers.get("x-jobpool-event") ?? ""),
  );
  return await finish(run, {
    name: `SMTP 4xx ${size.smtpDeferMs / 1000} s, then 5xx 3 s`,
    fault: "the mail server defers (451), then refuses (550)",
    started,
    rightly: refused,
  });
}

/**
 * Head-of-line blocking: 6 keys whose first email is claimed by a worker
 * that is gone (a live lease, what a crash leaves), 30 more jobs behind each,
 * and 2,000 jobs on 40 other keys. The other keys' throughput is compared
 * with a run of the same 2,000 jobs without the blocked keys.
 */
export async function blockedKeys(stack: DrillStack): Promise<ScenarioResult> {
  const started = Date.now();
  const free = await createJobs(stack, { name: "free-base", jobs: 2_000, campaigns: 40 });
  const baseline = await timeToFinish(stack, { name: "free-base", jobs: free });

  const blocked = await createJobs(stack, { name: "blocked", jobs: 6 * 31, campaigns: 6 });
  const others = await createJobs(stack, { name: "free", jobs: 2_000, campaigns: 40 });
  const firsts = new Map<string, JobEvent>();
  for (const job of blocked) if (!firsts.has(job.campaign_id)) firsts.set(job.campaign_id, job);
  await holdClaims(stack, [...firsts.values()], 300_000);
  const workload = await newWorkload(stack, { name: "blocked", jobs: [...blocked, ...others] });
  await produce(stack, workload, blocked);
  await produce(stack, workload, others);
  const counter = new EffectCounter(stack.smtp, workload.jobs);
  const freeCounter = new EffectCounter(stack.smtp, others);
  counter.start();
  const worker = await startWorker(stack, workload, { n: 1, env: WORKER_ENV });
  const firstFree = await timeOf(() => freeCounter.done > 0);
  const othersDone = await waitUntil(() => freeCounter.done >= others.length, 240_000, 5);
  const withBlocked = (Date.now() - firstFree) / 1000;
  // The claims end (their holder is gone): the blocked keys finish too.
  await holdClaims(stack, [...firsts.values()], 0);
  const run: Run = {
    stack,
    workload,
    counter,
    workers: [worker],
    current: worker,
    faults: [{ from: started, to: Date.now() }],
    resumes: [],
  };
  const result = await finish(run, {
    name: "6 blocked keys among 46",
    fault: "6 keys' first emails claimed by a dead worker (live lease)",
    started,
  });
  const ratio = baseline / withBlocked;
  result.notes = {
    "other keys all done while the 6 claims were held": othersDone ? "yes" : "no",
    "other keys, seconds without blocked keys": round(baseline),
    "other keys, seconds with 6 blocked keys": round(withBlocked),
    "throughput ratio (target >= 0.8)": round(ratio),
  };
  return result;
}

/** Seconds from the first to the last effect of `jobs`, on a topic of their own. */
async function timeToFinish(
  stack: DrillStack,
  options: { name: string; jobs: JobEvent[] },
): Promise<number> {
  const workload = await newWorkload(stack, options);
  await produce(stack, workload);
  const counter = new EffectCounter(stack.smtp, options.jobs);
  const worker = await startWorker(stack, workload, { n: 1, env: WORKER_ENV });
  try {
    const first = await timeOf(() => counter.done > 0);
    await waitUntil(() => counter.done >= options.jobs.length, 600_000, 5);
    return (Date.now() - first) / 1000;
  } finally {
    await worker.stop();
  }
}

/** When `condition` first held, to 5 ms. */
async function timeOf(condition: () => boolean): Promise<number> {
  await waitUntil(condition, 600_000, 5);
  return Date.now();
}

/**
 * Makes the email claims of `jobs` look held by another (gone) worker for
 * `ms` more, or ends them (0): what a crash mid-send leaves behind.
 */
async function holdClaims(stack: DrillStack, jobs: readonly JobEvent[], ms: number) {
  const sql = postgres(stack.postgres.url, { max: 1, onnotice: () => {} });
  try {
    for (const job of jobs) {
      if (job.type !== "job.email.welcome") continue;
      await sql`
        insert into email_deliveries
          (dedupe_key, event_id, kind, user_id, recipient, status, attempts, claimed_until,
            claim_token)
        select ${`event:${job.id}`}, ${job.id}, 'welcome', u.id, u.email, 'sending', 1,
          now() + ${ms} * interval '1 millisecond', gen_random_uuid()
        from waitlist_users u where u.id = ${job.data.user_id}
        on conflict (dedupe_key) do update set claimed_until = excluded.claimed_until
      `;
    }
  } finally {
    await sql.end();
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
