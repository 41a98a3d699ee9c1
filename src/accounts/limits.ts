import { getConfig } from '../platform/config.js';
import { billingWindow } from './billing-window.js';
import { limitsOf, rollHoursWindow, type UserAccount } from './account.js';
import { logger } from '../platform/logger.js';
import { wakeOrchestrator } from '../platform/queue/messages.js';
import { getUser, putUserItem, type StoredUser } from './user-store.js';
import { transact, withOptimisticRetry } from '../platform/dynamodb/transact.js';

export const hours = (seconds: number): number => Math.round((seconds / 3600) * 1000) / 1000;

export interface UserLimits {
  user_id: string;
  plan: string;
  max_concurrent_agents: number;
  max_task_duration_minutes: number;
  max_pending_tasks: number;
  monthly_agent_hours_limit: number | null;
  monthly_agent_hours_used: number;
  monthly_agent_hours_reserved: number;
  billing_cycle_day: number;
  billing_cycle_resets_at: string;
  overrides: StoredUser['overrides'];
}

export function userLimitsView(user: UserAccount, now: Date): UserLimits {
  const rolled = rollHoursWindow(user, now);
  const limits = limitsOf(rolled, getConfig().maxPendingPerUser);
  return {
    user_id: rolled.user_id,
    plan: rolled.plan,
    max_concurrent_agents: limits.max_concurrent_agents,
    max_task_duration_minutes: limits.max_task_duration_minutes,
    max_pending_tasks: limits.max_pending_tasks,
    monthly_agent_hours_limit: limits.monthly_agent_hours,
    monthly_agent_hours_used: hours(rolled.hours_used_seconds),
    monthly_agent_hours_reserved: hours(rolled.hours_reserved_seconds),
    billing_cycle_day: rolled.billing_day,
    billing_cycle_resets_at: billingWindow(now, rolled.billing_day).end.toISOString(),
    overrides: rolled.overrides,
  };
}

export async function getUserLimits(userId: string, now = new Date()): Promise<UserLimits> {
  return userLimitsView(await getUser(userId, now), now);
}

/** Admin: change a user's plan, limit overrides or billing day; a raised limit unblocks at once. */
export async function updateUserAccount(
  userId: string,
  change: (user: UserAccount) => UserAccount,
  actor: string,
  now = new Date(),
): Promise<UserLimits> {
  const updated = await withOptimisticRetry(async () => {
    const user = await getUser(userId, now);
    const next = { ...change(rollHoursWindow(user, now)), version: user.version + 1 };
    await transact([putUserItem(next, now)]);
    return next;
  });
  logger.info('admin changed user limits', { admin_id: actor, user_id: userId, plan: updated.plan, overrides: updated.overrides });
  await wakeOrchestrator('limits-changed');
  return userLimitsView(updated, now);
}
