/**
 * Group membership: which partitions this worker owns, and what happens to
 * them when the group changes. Assignments create or keep
 * {@linkcode OwnedPartition}s; a partition kept across a re-join keeps what
 * the worker knows of it unless the group committed past it meanwhile; a
 * rebalance is drained (queued jobs deferred, running ones given their time,
 * finished ones committed with the old generation) before the member
 * re-joins; a lost partition is let go. The lag is read from the broker here
 * too, since it is per owned partition.
 *
 * @module
 */

import { fetchGroupLag, type LagAdmin } from "../observability/lag.ts";
import { logger } from "../observability/logging.ts";
import type { WorkerMetrics } from "../observability/metrics.ts";
import type { Committer } from "./commits.ts";
import { type Intake, OwnedPartition, type WorkerJob } from "./intake.ts";
import type { KeyedPool } from "./keyed_pool.ts";
import { partitionId } from "./offsets.ts";
import type { ConsumerPort } from "./ports.ts";

/** Options of {@linkcode Membership}. */
export interface MembershipOptions {
  /** The job topic. */
  topic: string;
  /** The consumer group (for reading its commits). */
  consumerGroup: string;
  /** Time running jobs get on a rebalance and after their partition is lost. */
  shutdownTimeoutMs: number;
  /** How long the group waits for members to re-join. */
  rebalanceTimeoutMs: number;
  /** How often to heartbeat while draining. */
  heartbeatIntervalMs: number;
  /** Where jobs run. */
  pool: KeyedPool<WorkerJob>;
  /** Where queued jobs are deferred. */
  intake: Intake;
  /** Commits on a rebalance. */
  committer: () => Committer;
  /** Resumes partitions let go while paused. */
  consumer: Pick<ConsumerPort, "resumePartition">;
  /** Reads the group's commits and the log ends. */
  admin: LagAdmin;
  /** Where the lag goes. */
  metrics: WorkerMetrics;
  /** Called once a new assignment has been checked: fetching may go on. */
  onChecked: () => void;
}

const log = logger("worker");

/** The partitions this worker owns, through assignments and rebalances. */
export class Membership {
  /** The owned partitions, by `topic:partition`. */
  readonly owned = new Map<string, OwnedPartition>();
  readonly #options: MembershipOptions;
  #joins = 0;
  #assigned = 0;
  #revoking: Promise<void> | undefined;
  #checking: Promise<void> | undefined;

  /** Membership of `options.topic`'s partitions. */
  constructor(options: MembershipOptions) {
    this.#options = options;
  }

  /** Times this member joined the group. */
  get joins(): number {
    return this.#joins;
  }

  /** Partitions of the topic in the last assignment (0 before joining). */
  get assigned(): number {
    return this.#assigned;
  }

  /** True from a rebalance's drain until the next assignment: nothing new is taken. */
  get revoking(): boolean {
    return this.#revoking !== undefined;
  }

  /** True while a new assignment is checked against the group's commits. */
  get checking(): boolean {
    return this.#checking !== undefined;
  }

  /** The owner of `topic:partition`, created when missing. */
  own(topic: string, partition: number): OwnedPartition {
    const id = partitionId(topic, partition);
    let owner = this.owned.get(id);
    if (!owner) {
      owner = new OwnedPartition(topic, partition);
      this.owned.set(id, owner);
    }
    return owner;
  }

  /** True while `owner` still owns its partition (not revoked or started afresh). */
  isCurrent(owner: OwnedPartition): boolean {
    return this.owned.get(owner.id) === owner;
  }

  /** This member joined the group with `assignment` (topic → partitions). */
  joined(assignment: Readonly<Record<string, number[]>>): void {
    const { topic } = this.#options;
    const partitions = assignment[topic] ?? [];
    const assigned = new Set(partitions.map((p) => partitionId(topic, p)));
    const kept: OwnedPartition[] = [];
    for (const [id, owner] of this.owned) {
      if (!assigned.has(id)) this.#revoke(owner);
      else kept.push(owner);
    }
    for (const partition of partitions) this.own(topic, partition);
    this.#joins++;
    this.#assigned = partitions.length;
    this.#revoking = undefined;
    log.info("Joined the group with partitions {partitions}", { partitions });
    if (kept.length > 0) {
      this.#checking = this.#checkKept(kept).finally(() => {
        this.#checking = undefined;
        this.#options.onChecked();
      });
    }
  }

  /**
   * Partitions kept across a re-join keep what this worker knows of them
   * (finished offsets not yet committed, deferred messages) unless the group
   * committed past it meanwhile: then another member worked on them, and
   * they start afresh from the group's commit.
   */
  async #checkKept(kept: OwnedPartition[]): Promise<void> {
    let committed: Map<number, number> | undefined;
    try {
      const { admin, consumerGroup, topic } = this.#options;
      const { partitions } = await fetchGroupLag(admin, consumerGroup, topic);
      committed = new Map(partitions.map((p) => [p.partition, p.currentOffset ?? -1]));
    } catch (error) {
      log.warn("Cannot read the group's commits after re-joining: starting afresh: {error}", {
        error: (error as Error).message,
      });
    }
    for (const owner of kept) {
      if (!this.isCurrent(owner)) continue;
      const groupCommit = committed?.get(owner.partition);
      const known = owner.offsets.committed ?? owner.offsets.first ?? -1;
      if (groupCommit !== undefined && groupCommit <= known) {
        owner.renew();
        continue;
      }
      this.#revoke(owner);
      this.own(owner.topic, owner.partition);
    }
  }

  /**
   * The group started to rebalance and waits for this member: drains (see
   * {@linkcode Membership.drain}) once, however often it is asked.
   */
  revoked(heartbeat: () => Promise<void>): Promise<void> {
    this.#revoking ??= this.#drain(heartbeat);
    return this.#revoking;
  }

  /**
   * The group waits for this member to re-join, and commits with its
   * generation still count: queued jobs leave memory (deferred), no attempt
   * starts any more, running ones get until the rebalance's deadline
   * (`SHUTDOWN_TIMEOUT_MS`, and a margin inside the rebalance timeout), what
   * finished is committed. Partitions kept in the new assignment are fetched
   * again from the commit; their deferred and abandoned jobs are taken again.
   */
  async #drain(heartbeat: () => Promise<void>): Promise<void> {
    const { pool, intake, rebalanceTimeoutMs, heartbeatIntervalMs } = this.#options;
    const deferred = intake.deferQueued();
    this.stopAll(new Error("The group is rebalancing"));
    const budgetMs = Math.min(
      this.#options.shutdownTimeoutMs,
      Math.max(0, rebalanceTimeoutMs - Math.max(1_000, rebalanceTimeoutMs / 5)),
    );
    log.info("The group is rebalancing: waiting up to {budgetMs} ms for {count} running jobs", {
      budgetMs,
      count: pool.active,
    });
    const deadline = performance.now() + budgetMs;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      if (await pool.idle(AbortSignal.timeout(Math.min(left, heartbeatIntervalMs)))) break;
      // The broker answers REBALANCE_IN_PROGRESS but counts this member alive.
      await heartbeat().catch(() => {});
    }
    await this.#options.committer().commit();
    log.info("Re-joining the group; {deferred} queued jobs left to fetch again", { deferred });
  }

  /** kafkajs re-joins at once (outside a batch): flush what finished while the generation holds. */
  rebalancing(): void {
    if (this.#revoking) return;
    log.info("The group is rebalancing: committing finished work");
    void this.#options.committer().commit();
  }

  /** No new job or attempt starts in any owned partition. */
  stopAll(reason: Error): void {
    for (const owner of this.owned.values()) owner.stop.abort(reason);
  }

  /** Running handlers of every owned partition are aborted. */
  killAll(reason: Error): void {
    for (const owner of this.owned.values()) owner.kill.abort(reason);
  }

  /**
   * The partition went to another member (or starts afresh): nothing of it
   * is committed any more, queued jobs and retries stop, and running
   * handlers get the shutdown timeout before their signal aborts.
   */
  #revoke(owner: OwnedPartition): void {
    this.owned.delete(owner.id);
    // kafkajs keeps a pause across rebalances: a partition coming back must fetch.
    if (owner.pausedForDeferred) {
      this.#options.consumer.resumePartition(owner.topic, owner.partition);
    }
    this.#options.intake.dropQueued(owner);
    owner.stop.abort(new Error(`Partition ${owner.id} was revoked`));
    const timer = setTimeout(
      () => owner.kill.abort(new Error(`Partition ${owner.id} was revoked`)),
      this.#options.shutdownTimeoutMs,
    );
    Deno.unrefTimer(timer);
    this.#options.metrics.setLag(owner.topic, owner.partition, 0);
    log.info("Partition {partition} revoked", { partition: owner.partition });
  }

  /** Reads the group's committed offsets and log ends: the lag as the broker (and KEDA) see it. */
  async refreshLag(): Promise<void> {
    if (this.owned.size === 0) return;
    const { admin, consumerGroup, topic, metrics } = this.#options;
    try {
      const { partitions } = await fetchGroupLag(admin, consumerGroup, topic);
      for (const { partition, logEndOffset, lag } of partitions) {
        const owner = this.owned.get(partitionId(topic, partition));
        if (!owner) continue;
        owner.highWatermark = Math.max(owner.highWatermark, logEndOffset);
        metrics.setLag(topic, partition, lag);
      }
    } catch (error) {
      log.debug("Could not read the group's lag: {error}", { error: (error as Error).message });
    }
  }
}
