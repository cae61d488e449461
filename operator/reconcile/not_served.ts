/**
 * What to say when the API server does not serve a kind the operator writes:
 * the CRD is missing, or it is installed but serves other versions than the
 * one the pool asks for (then the versions it does serve are named).
 *
 * @module
 */

import type { ResourceType } from "../runtime/resources.ts";
import { type ConditionState, REASONS } from "./conditions.ts";
import type { ReconcileContext } from "./context.ts";

/** What the condition names: the product and what to do when its CRD is missing. */
export interface NotServedSubject {
  /** The kind and version asked for. */
  type: ResourceType;
  /** The message when the whole API group is missing. */
  missing: string;
  /** What to do when other versions are served, given them (e.g. "set … to v1"). */
  otherVersions: (served: string[]) => string;
}

/** `False` with `CRDNotInstalled`, or `VersionNotServed` naming the versions the server has. */
export async function notServedState(
  context: ReconcileContext,
  subject: NotServedSubject,
  signal: AbortSignal,
): Promise<ConditionState> {
  const { type } = subject;
  const served = await context.client.servedVersions(type.group, signal);
  if (served.length === 0) {
    return { status: "False", reason: REASONS.crdNotInstalled, message: subject.missing };
  }
  return {
    status: "False",
    reason: REASONS.versionNotServed,
    message: `The API server serves ${type.kind} of ${type.group} in ${served.join(", ")}, ` +
      `not ${type.version}: ${subject.otherVersions(served)}`,
  };
}
