import { billingWindow } from './billing-window.js';
import type { EffectiveLimits } from './plans.js';
import { rollHoursWindow, type UserAccount } from './account.js';

/** Why `count` more tasks may not be queued for a user now; the caller words it for one task or a batch. */
export type QueueRefusal =
  | { code: 'TOO_MANY_PENDING'; pending: number; limit: number; room: number }
  | { code: 'MONTHLY_LIMIT_REACHED'; hours: number; resetsAt: string };

/**
 * The pending limit and the monthly agent-hours, the two limits every queued task is admitted
 * against (single tasks and batch runs alike). Null means all `count` tasks fit. Pure: the caller
 * re-checks it inside the transaction that takes the reservation.
 */
export function queueRefusal(user: UserAccount, limits: EffectiveLimits, count: number, now: Date): QueueRefusal | null {
  if (user.pending_count + count > limits.max_pending_tasks) {
    const room = Math.max(0, limits.max_pending_tasks - user.pending_count);
    return { code: 'TOO_MANY_PENDING', pending: user.pending_count, limit: limits.max_pending_tasks, room };
  }
  const rolled = rollHoursWindow(user, now);
  if (limits.monthly_agent_hours !== null && rolled.hours_used_seconds >= limits.monthly_agent_hours * 3600) {
    return { code: 'MONTHLY_LIMIT_REACHED', hours: limits.monthly_agent_hours, resetsAt: billingWindow(now, user.billing_day).end.toISOString() };
  }
  return null;
}
