import { billingWindow } from '../accounts/billing-window.js';
import type { EffectiveLimits } from '../accounts/plans.js';
import { rollHoursWindow, type UserAccount } from '../accounts/account.js';
import { DomainError } from '../platform/errors.js';

/** Names the batch task that could not be accepted; the API shows it as `error.details`. */
export interface BatchTaskRejection {
  task_index: number;
  title: string;
}

/**
 * Whether all of a batch's tasks may be queued for `user` now, and if not, the error naming the
 * first task that does not fit (the same codes as single tasks: TOO_MANY_PENDING,
 * MONTHLY_LIMIT_REACHED). Null means every task fits. Pure: the caller re-checks it inside the
 * transaction that takes the reservation.
 */
export function batchAdmissionError(
  user: UserAccount,
  limits: EffectiveLimits,
  titles: readonly string[],
  now: Date,
): DomainError | null {
  const room = Math.max(0, limits.max_pending_tasks - user.pending_count);
  if (titles.length > room) {
    const details: BatchTaskRejection = { task_index: room, title: titles[room] ?? '' };
    return new DomainError(
      'TOO_MANY_PENDING',
      `Task ${room} ("${details.title}") would exceed the pending limit: you have ${user.pending_count} pending tasks, ` +
        `the limit is ${limits.max_pending_tasks}, so ${room} of this batch's ${titles.length} tasks fit; nothing was queued`,
      { details },
    );
  }
  const rolled = rollHoursWindow(user, now);
  if (limits.monthly_agent_hours !== null && rolled.hours_used_seconds >= limits.monthly_agent_hours * 3600) {
    const details: BatchTaskRejection = { task_index: 0, title: titles[0] ?? '' };
    return new DomainError(
      'MONTHLY_LIMIT_REACHED',
      `Task 0 ("${details.title}") cannot be queued: all ${limits.monthly_agent_hours} agent-hours of this billing cycle are used; ` +
        `they reset at ${billingWindow(now, user.billing_day).end.toISOString()}; nothing was queued`,
      { details },
    );
  }
  return null;
}
