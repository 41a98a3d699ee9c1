import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../../src/platform/aws.js';
import { getConfig } from '../../src/platform/config.js';
import type { PlanName } from '../../src/accounts/plans.js';
import type { Task } from '../../src/tasks/task.js';
import { newUserAccount, type UserAccount } from '../../src/accounts/account.js';
import { taskCreateSchema } from '../../src/tasks/schemas.js';
import { newTask } from '../../src/tasks/create-task.js';
import { putTaskItem } from '../../src/tasks/task-store.js';
import { putUserItem } from '../../src/accounts/user-store.js';
import { mapLimit } from './stats.js';

export interface BacklogShape {
  users: number;
  tasksPerUser: number;
  plan: PlanName;
  /** Per-user pending limit override, so a backlog may be deeper than MAX_PENDING_PER_USER. */
  maxPendingTasks?: number;
}

export const benchUserId = (prefix: string, index: number): string => `${prefix}-${String(index).padStart(5, '0')}`;

/** The pending tasks of one seeded user: mixed priorities, one millisecond apart. */
export function backlogTasks(userId: string, count: number, start: Date): Task[] {
  return Array.from({ length: count }, (_, n) =>
    newTask(userId, taskCreateSchema.parse({ title: `bench task ${n}`, description: 'seeded backlog', priority: (n % 4) + 1 }), new Date(start.getTime() + n)),
  );
}

/** A user account whose counters already match `pendingCount` pending tasks. */
export function backlogAccount(userId: string, shape: BacklogShape, pendingCount: number, now: Date): UserAccount {
  return {
    ...newUserAccount(userId, now),
    plan: shape.plan,
    overrides: shape.maxPendingTasks ? { max_pending_tasks: shape.maxPendingTasks } : {},
    pending_count: pendingCount,
    version: 1,
  };
}

export interface SeededBacklog {
  /** Each user's account as stored, and their pending tasks. */
  users: { account: UserAccount; tasks: Task[] }[];
}

async function batchWrite(items: Record<string, unknown>[]): Promise<void> {
  const table = getConfig().tableName;
  let pending = items.map((Item) => ({ PutRequest: { Item } }));
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt > 20) throw new Error('BatchWrite kept returning unprocessed items');
    const result = await ddb().send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
    pending = (result.UnprocessedItems?.[table] ?? []) as typeof pending;
    if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
  }
}

/**
 * Writes a backlog straight into the table with BatchWriteItem (25 items a request), through
 * the stores' own item shapes, so the indexes are exactly what the services would have written.
 * Much faster than one transaction per task; setup is not what is measured.
 */
export async function seedBacklog(prefix: string, shape: BacklogShape, now: Date, concurrency = 8): Promise<SeededBacklog> {
  const seeded: SeededBacklog = { users: [] };
  const items: Record<string, unknown>[] = [];
  for (let i = 0; i < shape.users; i++) {
    const userId = benchUserId(prefix, i);
    const tasks = backlogTasks(userId, shape.tasksPerUser, new Date(now.getTime() - 60_000));
    const account = backlogAccount(userId, shape, tasks.length, now);
    for (const task of tasks) items.push(itemOf(putTaskItem(task)));
    items.push(itemOf(putUserItem(account, now)));
    seeded.users.push({ account, tasks });
  }
  const chunks: Record<string, unknown>[][] = [];
  for (let i = 0; i < items.length; i += 25) chunks.push(items.slice(i, i + 25));
  await mapLimit(chunks, concurrency, batchWrite);
  return seeded;
}

function itemOf(write: ReturnType<typeof putTaskItem>): Record<string, unknown> {
  const item = write.Put?.Item;
  if (!item) throw new Error('store returned no Put item');
  return item;
}
