import { beforeEach, describe, expect, it } from 'vitest';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../../src/platform/aws.js';
import { getConfig } from '../../src/platform/config.js';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { sweep } from '../../src/scheduling/sweep.js';
import { enqueueTasks, newTask } from '../../src/tasks/create-task.js';
import { taskCreateSchema } from '../../src/tasks/schemas.js';
import { getTask } from '../../src/tasks/task-store.js';
import { userItemKey } from '../../src/accounts/user-store.js';
import { useFreshTable } from '../support/local-env.js';

/*
 * Accounts last written before the scheduler keys were sharded are still filed under the plain
 * `READY` / `DEFERRED` keys. Orchestrator passes read only the shards (one Query fewer per index
 * per round); the sweeper finds such accounts and re-files them, so their work still starts,
 * within a sweep, in claim order.
 */

/** Moves the user's account back under the unsharded key of the index it is on, as an old release wrote it. */
async function fileUnsharded(userId: string): Promise<Record<string, unknown>> {
  const { Item } = await ddb().send(new GetCommand({ TableName: getConfig().tableName, Key: userItemKey(userId), ConsistentRead: true }));
  if (!Item) throw new Error(`no account for ${userId}`);
  const item: Record<string, unknown> = { ...Item };
  if (typeof item.readypk === 'string') item.readypk = 'READY';
  if (typeof item.duepk === 'string') item.duepk = 'DEFERRED';
  await ddb().send(new PutCommand({ TableName: getConfig().tableName, Item: item }));
  return item;
}

async function accountItem(userId: string): Promise<Record<string, unknown>> {
  const { Item } = await ddb().send(new GetCommand({ TableName: getConfig().tableName, Key: userItemKey(userId), ConsistentRead: true }));
  return Item ?? {};
}

describe('accounts under the unsharded scheduler keys', () => {
  beforeEach(async () => {
    await useFreshTable({ SCHEDULER_SHARDS: '8' });
  });

  it('a ready user left under READY is re-filed by the sweep and then claimed; passes alone do not see it', async () => {
    const now = new Date();
    const [first, second] = await enqueueTasks('old-ready', ['first', 'second'].map((title, n) => newTask('old-ready', taskCreateSchema.parse({ title }), new Date(now.getTime() + n))), now);
    expect((await fileUnsharded('old-ready')).readypk).toBe('READY');

    // Act 1: an orchestrator pass reads only the shards.
    const before = await claimNextTasks();
    // Act 2: the sweep re-files the account into its shard and wakes the orchestrator.
    const swept = await sweep(new Date());
    const refiled = await accountItem('old-ready');
    const after = await claimNextTasks();

    // Assess: the free plan's one slot takes the first task, in claim order.
    expect(before.claimed).toEqual([]);
    expect(swept.refiled).toBe(1);
    expect(String(refiled.readypk)).toMatch(/^READY#[0-7]$/);
    expect(after.claimed.map((task) => task.id)).toEqual([first?.id]);
    expect((await getTask(second?.id ?? ''))?.status).toBe('pending');
  });

  it('a waiting user left under DEFERRED is re-filed and, once due, promoted in the same sweep and claimed', async () => {
    const now = new Date();
    const notBefore = new Date(now.getTime() + 60_000);
    const [task] = await enqueueTasks('old-deferred', [newTask('old-deferred', taskCreateSchema.parse({ title: 'later', not_before: notBefore.toISOString() }), now)], now);
    expect((await fileUnsharded('old-deferred')).duepk).toBe('DEFERRED');
    const later = new Date(notBefore.getTime() + 1_000);

    // Act: at the task's time, a pass alone finds nothing to promote; the sweep re-files and promotes.
    const before = await claimNextTasks({ now: () => later });
    const swept = await sweep(later);
    const after = await claimNextTasks({ now: () => later });

    // Assess
    expect(before.claimed).toEqual([]);
    expect(before.promoted).toBe(0);
    expect(swept.refiled).toBe(1);
    expect(after.claimed.map((claimed) => claimed.id)).toEqual([task?.id]);
    expect((await getTask(task?.id ?? ''))?.status).toBe('claimed');
  });

  it('a sweep with nothing under the unsharded keys re-files nobody', async () => {
    const now = new Date();
    await enqueueTasks('new-user', [newTask('new-user', taskCreateSchema.parse({ title: 'fresh' }), now)], now);

    const swept = await sweep(new Date());

    expect(swept.refiled).toBe(0);
    expect((await claimNextTasks()).claimed).toHaveLength(1);
  });
});
