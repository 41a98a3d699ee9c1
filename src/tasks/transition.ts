import { accountForTransition } from '../accounts/account.js';
import type { Task } from './task.js';
import { priorUsage } from './retry-policy.js';
import { getTask, putTaskItem } from './task-store.js';
import { getUser, putUserItem } from '../accounts/user-store.js';
import { transact, withOptimisticRetry, type TransactItem } from '../platform/dynamodb/transact.js';

export interface Transition {
  before: Task;
  after: Task;
}

/**
 * Moves one task to a new state and the owner's counters with it, in one transaction. `decide`
 * sees the freshly read task and returns its next state, or null to change nothing (e.g. a
 * duplicate callback). Lost races are retried with fresh reads.
 */
export async function transitionTask(
  taskId: string,
  now: Date,
  decide: (task: Task) => Task | null,
  extraItems: (before: Task, after: Task) => TransactItem[] = () => [],
): Promise<Transition | null> {
  return withOptimisticRetry(async () => {
    const before = await getTask(taskId);
    if (!before) return null;
    const after = decide(before);
    if (!after) return null;
    const user = await getUser(before.user_id, now);
    // The account settles this attempt's seconds; the task's used_seconds is the total over its attempts.
    const attemptSeconds = Math.max(0, (after.used_seconds ?? 0) - priorUsage(before).seconds);
    const nextUser = accountForTransition(user, before, { ...after, used_seconds: attemptSeconds }, now);
    await transact([
      putTaskItem(after, { status: before.status, attempts: before.attempts }),
      putUserItem(nextUser, now),
      ...extraItems(before, after),
    ]);
    return { before, after };
  });
}
