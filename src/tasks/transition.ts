import { accountForTransition, type UserAccount } from '../accounts/account.js';
import type { Task } from './task.js';
import { priorUsage } from './retry-policy.js';
import { getTask, putTaskItem } from './task-store.js';
import { getUser, putUserItem, type StoredUser } from '../accounts/user-store.js';
import { transact, withOptimisticRetry, type TransactItem } from '../platform/dynamodb/transact.js';

export interface Transition {
  before: Task;
  after: Task;
  /** The owner's account as the transaction wrote it. */
  account: UserAccount;
}

/** The task and its owner's account as read for a transition (null: no such task). */
export type TaskRead = { before: Task; user: StoredUser } | null;

/**
 * A task to move: its id, or the task as a caller read it (whose owner is then read beside it),
 * or with `read`, what `readTaskAndOwner` just gave a caller that read it beside something else
 * (the transition's first try uses it; a retry reads again).
 */
export type TaskRef = string | Pick<Task, 'id' | 'user_id'> | (Pick<Task, 'id' | 'user_id'> & { read: TaskRead });

/**
 * The task and its owner's account, both as fresh as the table. With the owner known (a task's
 * owner never changes), the two reads go at once: one round trip before the transaction, not two.
 */
export async function readTaskAndOwner(task: TaskRef, now: Date): Promise<TaskRead> {
  if (typeof task === 'string') {
    const before = await getTask(task);
    return before ? { before, user: await getUser(before.user_id, now) } : null;
  }
  const [before, user] = await Promise.all([getTask(task.id), getUser(task.user_id, now)]);
  if (!before) return null;
  return { before, user: before.user_id === user.user_id ? user : await getUser(before.user_id, now) };
}

/**
 * Moves one task to a new state and the owner's counters with it, in one transaction. `decide`
 * sees the freshly read task and returns its next state, or null to change nothing (e.g. a
 * duplicate callback). Lost races are retried with fresh reads.
 */
export async function transitionTask(
  task: TaskRef,
  now: Date,
  decide: (task: Task) => Task | null,
  extraItems: (before: Task, after: Task) => TransactItem[] = () => [],
): Promise<Transition | null> {
  let first = typeof task === 'object' && 'read' in task ? { read: task.read } : undefined;
  return withOptimisticRetry(async () => {
    const read = first ? first.read : await readTaskAndOwner(task, now);
    first = undefined;
    if (!read) return null;
    const { before, user } = read;
    const after = decide(before);
    if (!after) return null;
    // The account settles this attempt's seconds; the task's used_seconds is the total over its attempts.
    const attemptSeconds = Math.max(0, (after.used_seconds ?? 0) - priorUsage(before).seconds);
    const nextUser = accountForTransition(user, before, { ...after, used_seconds: attemptSeconds }, now);
    await transact([
      putTaskItem(after, { status: before.status, attempts: before.attempts }),
      putUserItem(nextUser, now),
      ...extraItems(before, after),
    ]);
    return { before, after, account: nextUser };
  });
}
