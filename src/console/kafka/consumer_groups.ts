/**
 * The consumer groups of the overview: lag per partition, members and what
 * each is assigned, read from Kafka's admin API on an interval, with the
 * total lag of the last hour.
 *
 * @module
 */

import { type Admin, AssignerProtocol } from "kafkajs";
import { delay } from "../../async/mod.ts";
import { fetchGroupLag, type GroupLag } from "../../observability/lag.ts";

/** A member of a group and the partitions of the job topic it holds. */
export interface GroupMember {
  /** The member id the coordinator gave it. */
  memberId: string;
  /** The client id it reported. */
  clientId: string;
  /** The host it connected from. */
  host: string;
  /** Its partitions of the job topic. */
  partitions: number[];
}

/** One group as the overview shows it. */
export interface GroupState {
  /** The consumer group. */
  group: string;
  /** The coordinator's word for it: `Stable`, `Empty`, `PreparingRebalance`, `Dead`, … */
  state: string;
  /** Its members, by member id. */
  members: GroupMember[];
  /** Lag per partition of the job topic. */
  lag?: GroupLag;
  /** Total lag over time: `[epoch seconds, lag]`. */
  lagHistory: [number, number][];
  /** Why it could not be read, when it could not. */
  error?: string;
}

/** Reads a group's state and members (with their job-topic partitions) and its lag. */
export async function readGroup(
  admin: Admin,
  group: string,
  topic: string,
): Promise<Omit<GroupState, "lagHistory">> {
  const [{ groups }, lag] = await Promise.all([
    admin.describeGroups([group]),
    fetchGroupLag(admin, group, topic),
  ]);
  const described = groups[0];
  const members = (described?.members ?? []).map((member): GroupMember => {
    const assignment = member.memberAssignment.length === 0
      ? undefined
      : AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
    return {
      memberId: member.memberId,
      clientId: member.clientId,
      host: member.clientHost,
      partitions: [...(assignment?.assignment[topic] ?? [])].sort((a, b) => a - b),
    };
  }).sort((a, b) => a.memberId.localeCompare(b.memberId));
  return { group, state: described?.state ?? "Unknown", members, lag };
}

/** Options of {@linkcode GroupWatcher}. */
export interface GroupWatcherOptions {
  /** A connected admin client. */
  admin: Admin;
  /** The groups to watch. */
  groups: readonly string[];
  /** The job topic. */
  topic: string;
  /** Time between two reads. */
  intervalMs: number;
  /** How long the lag history reaches back. */
  keepMs: number;
}

/** Reads the groups on an interval and keeps the latest state of each. */
export class GroupWatcher {
  readonly #options: GroupWatcherOptions;
  readonly #states = new Map<string, GroupState>();
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;

  /** A watcher of `options.groups`; call {@linkcode start}. */
  constructor(options: GroupWatcherOptions) {
    this.#options = options;
    for (const group of options.groups) {
      this.#states.set(group, { group, state: "Unknown", members: [], lagHistory: [] });
    }
  }

  /** Reads now and then every interval until {@linkcode stop}. */
  start(): void {
    const signal = this.#stop.signal;
    this.#loop ??= (async () => {
      while (!signal.aborted) {
        await this.refresh();
        await delay(this.#options.intervalMs, { signal }).catch(() => {});
      }
    })();
  }

  /** Stops reading. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  /** Reads every group once. */
  async refresh(): Promise<void> {
    const { admin, topic, keepMs } = this.#options;
    await Promise.all(this.#options.groups.map(async (group) => {
      const previous = this.#states.get(group);
      const history = previous?.lagHistory ?? [];
      try {
        const state = await readGroup(admin, group, topic);
        const now = Date.now();
        const kept = history.filter(([t]) => t * 1000 > now - keepMs);
        if (state.lag) kept.push([Math.round(now / 1000), state.lag.total]);
        this.#states.set(group, { ...state, lagHistory: kept });
      } catch (error) {
        this.#states.set(group, {
          group,
          state: previous?.state ?? "Unknown",
          members: previous?.members ?? [],
          ...(previous?.lag ? { lag: previous.lag } : {}),
          lagHistory: history,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }));
  }

  /** The latest state of every group, in the configured order. */
  states(): GroupState[] {
    return this.#options.groups.flatMap((group) => this.#states.get(group) ?? []);
  }
}
