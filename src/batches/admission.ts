import { queueRefusal } from '../accounts/admission.js';
import type { EffectiveLimits } from '../accounts/plans.js';
import type { UserAccount } from '../accounts/account.js';
import { DomainError } from '../platform/errors.js';

/** Names the batch task that could not be accepted; the API shows it as `error.details`. */
export interface BatchTaskRejection {
  task_index: number;
  title: string;
}

/**
 * Whether all of a batch's tasks may be queued for `user` now, and if not, the error naming the
 * first task that does not fit (the same codes as single tasks: TOO_MANY_PENDING,
 * MONTHLY_LIMIT_REACHED). Null means every task fits.
 */
export function batchAdmissionError(
  user: UserAccount,
  limits: EffectiveLimits,
  titles: readonly string[],
  now: Date,
): DomainError | null {
  const refusal = queueRefusal(user, limits, titles.length, now);
  if (!refusal) return null;
  if (refusal.code === 'TOO_MANY_PENDING') {
    const details: BatchTaskRejection = { task_index: refusal.room, title: titles[refusal.room] ?? '' };
    return new DomainError(
      'TOO_MANY_PENDING',
      `Task ${refusal.room} ("${details.title}") would exceed the pending limit: you have ${refusal.pending} pending tasks, ` +
        `the limit is ${refusal.limit}, so ${refusal.room} of this batch's ${titles.length} tasks fit; nothing was queued`,
      { details },
    );
  }
  const details: BatchTaskRejection = { task_index: 0, title: titles[0] ?? '' };
  return new DomainError(
    'MONTHLY_LIMIT_REACHED',
    `Task 0 ("${details.title}") cannot be queued: all ${refusal.hours} agent-hours of this billing cycle are used; ` +
      `they reset at ${refusal.resetsAt}; nothing was queued`,
    { details },
  );
}
