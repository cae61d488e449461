/**
 * The handlers of every job type, over one set of dependencies.
 *
 * @module
 */

import type { HandlerDeps } from "./deps.ts";
import { handleEmailJob } from "./email/mod.ts";
import type { JobHandlers } from "./handler.ts";
import { reportingOutages } from "./outages.ts";
import { handlePositionRecalculation } from "./positions/mod.ts";
import { handleRewardDelivery } from "./rewards/mod.ts";

/**
 * One handler per job type, sharing `deps`; their outages (PostgreSQL, SMTP,
 * the broker) are reported as `DependencyUnavailableError`s.
 */
export function createJobHandlers(deps: HandlerDeps): JobHandlers {
  return reportingOutages({
    "job.email.verification": (job, context) => handleEmailJob(deps, job, context),
    "job.email.welcome": (job, context) => handleEmailJob(deps, job, context),
    "job.email.position_update": (job, context) => handleEmailJob(deps, job, context),
    "job.email.reward_earned": (job, context) => handleEmailJob(deps, job, context),
    "job.email.milestone": (job, context) => handleEmailJob(deps, job, context),
    "job.position.recalculate": async (job, context) => {
      await handlePositionRecalculation(deps, job, context);
    },
    "job.reward.deliver": async (job, context) => {
      await handleRewardDelivery(deps, job, context);
    },
  });
}
