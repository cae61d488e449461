/**
 * Milestones.
 *
 * **Definition.** A user reaches a *milestone* when the number of their
 * referrals that are `verified` (the referred friend confirmed their email)
 * becomes equal to or greater than one of their campaign's
 * `milestone_thresholds` (by default 1, 5, 10, 25, 50 and 100). The milestone
 * a user is at is the highest threshold reached; pending referrals do not
 * count. A `job.email.milestone` email announces that highest threshold, and
 * is sent at most once per threshold and user (`milestone_notified`), whatever
 * the number of events asking for it.
 *
 * @module
 */

/**
 * The highest of `thresholds` that `verifiedReferrals` reaches, or undefined
 * when it reaches none.
 */
export function reachedMilestone(
  verifiedReferrals: number,
  thresholds: readonly number[],
): number | undefined {
  let reached: number | undefined;
  for (const threshold of thresholds) {
    if (threshold <= verifiedReferrals && (reached === undefined || threshold > reached)) {
      reached = threshold;
    }
  }
  return reached;
}

/** The lowest of `thresholds` above `verifiedReferrals`, or undefined past the last one. */
export function nextMilestone(
  verifiedReferrals: number,
  thresholds: readonly number[],
): number | undefined {
  let next: number | undefined;
  for (const threshold of thresholds) {
    if (threshold > verifiedReferrals && (next === undefined || threshold < next)) {
      next = threshold;
    }
  }
  return next;
}
