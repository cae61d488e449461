/**
 * Reward delivery: the exactly-once handler and signed webhooks.
 *
 * @module
 */

export { handleRewardDelivery, type RewardDeliveryOutcome } from "./deliver_reward_job.ts";
export {
  postSignedWebhook,
  type PostWebhookOptions,
  signWebhook,
  WEBHOOK_HEADERS,
  WebhookDeliveryError,
} from "./webhook.ts";
