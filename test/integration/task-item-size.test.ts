import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { ddb } from '../../src/platform/aws.js';
import { getConfig } from '../../src/platform/config.js';
import { transact, TransactionConflictError } from '../../src/platform/dynamodb/transact.js';
import { enqueueTasks, newTask } from '../../src/tasks/create-task.js';
import { taskCreateSchema } from '../../src/tasks/schemas.js';
import type { Task } from '../../src/tasks/task.js';
import { getTask, listUserTasks, putTaskItem } from '../../src/tasks/task-store.js';
import { useFreshTable } from '../support/local-env.js';
import { commandsDuring } from '../support/watch-requests.js';

/*
 * A task item is stored small: no nulls, no defaults (DynamoDB charges a write by the KB started,
 * twice in a transaction), a write of the task alone is a conditional PutItem rather than a
 * transaction, and claimed and running tasks share one byUserStatus partition. None of it may
 * change what is read back.
 */

const USER = 'size-user';
const UNSET_OPTIONALS = { result_truncated: null, routing_note: null, sandbox_token_hash: null };

const rawItem = async (taskId: string): Promise<Record<string, unknown>> =>
  (await ddb().send(new GetCommand({ TableName: getConfig().tableName, Key: { pk: `TASK#${taskId}`, sk: 'TASK' }, ConsistentRead: true }))).Item ?? {};

async function queued(title: string, at = new Date()): Promise<Task> {
  const [task] = await enqueueTasks(USER, [newTask(USER, taskCreateSchema.parse({ title }), at)], at);
  if (!task) throw new Error('nothing queued');
  return task;
}

/** Writes `next` over `before` (conditioned on its status and attempts), as a state change does. */
const rewrite = (before: Task, next: Task) => transact([putTaskItem(next, { status: before.status, attempts: before.attempts })]);

beforeEach(async () => {
  await useFreshTable();
});

describe('the stored task item', () => {
  it('holds no null attribute and no default, and reads back as the task that was written, nulls and defaults included', async () => {
    const task = await queued('small');
    const stored = await rawItem(task.id);
    expect(Object.entries(stored).filter(([, value]) => value === null).map(([name]) => name)).toEqual([]);
    expect(stored).not.toHaveProperty('max_attempts');
    expect(stored).not.toHaveProperty('retry_backoff_seconds');
    expect(stored).not.toHaveProperty('sandbox_id');

    // Optional fields a new task does not set come back as null, which is what they mean.
    expect(await getTask(task.id)).toEqual({ ...UNSET_OPTIONALS, ...task });
  });

  it('keeps attempt records whole across a write: their nulls come back as nulls', async () => {
    const task = await queued('with history');
    const ended: Task = {
      ...task,
      status: 'failed',
      completed_at: new Date().toISOString(),
      failure_reason: 'exit 1',
      max_attempts: 3,
      attempt_history: [{ attempt: 1, started_at: null, ended_at: new Date().toISOString(), outcome: 'failed', failure_reason: null, hours: 0, used_seconds: 0, credits: null }],
    };
    await rewrite(task, ended);
    const stored = await rawItem(task.id);
    expect(stored.attempt_history).toEqual([expect.not.objectContaining({ credits: null })]);
    expect(stored.max_attempts).toBe(3);

    expect(await getTask(task.id)).toEqual({ ...UNSET_OPTIONALS, ...ended });
  });
});

describe('a write of one item', () => {
  it('goes out as a conditional PutItem, not a transaction, and a lost race is a TransactionConflictError that changes nothing', async () => {
    const task = await queued('single');
    const claimed: Task = { ...task, status: 'claimed', claimed_at: new Date().toISOString(), attempts: 1 };
    expect(await commandsDuring(() => rewrite(task, claimed))).toEqual(['PutItemCommand']);

    // A second writer that still believes the task is pending loses.
    const stale: Task = { ...task, status: 'cancelled', completed_at: new Date().toISOString() };
    await expect(rewrite(task, stale)).rejects.toBeInstanceOf(TransactionConflictError);
    expect((await getTask(task.id))?.status).toBe('claimed');
  });

  it('costs the table half the write units of the same write in a transaction', async () => {
    const [task, other] = [await queued('units'), await queued('units, in a transaction')];
    const at = new Date().toISOString();
    const tableUnits: number[] = [];
    const name = `units-${Math.random()}`;
    ddb().middlewareStack.add(
      (next) => async (args) => {
        const result = await next({ ...args, input: { ...(args.input as object), ReturnConsumedCapacity: 'INDEXES' } });
        const consumed = (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity as { Table?: { CapacityUnits?: number } } | { Table?: { CapacityUnits?: number } }[] | undefined;
        for (const entry of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) tableUnits.push(entry.Table?.CapacityUnits ?? 0);
        return result;
      },
      { step: 'initialize', name },
    );
    try {
      await rewrite(task, { ...task, status: 'claimed', claimed_at: at, attempts: 1 });
      const single = tableUnits.reduce((sum, value) => sum + value, 0);
      tableUnits.length = 0;
      // The same write beside a second one (both under 1 KB), so that it must be a transaction.
      await transact([putTaskItem({ ...other, status: 'claimed', claimed_at: at, attempts: 1 }, { status: 'pending', attempts: 0 }), putTaskItem({ ...other, id: `${other.id}-copy` })]);
      const perItemInTransaction = tableUnits.reduce((sum, value) => sum + value, 0) / 2;
      expect(single).toBe(1);
      expect(perItemInTransaction).toBe(2);
    } finally {
      ddb().middlewareStack.remove(name);
    }
  });
});

describe('claimed and running tasks in the status index', () => {
  it('share one partition, yet a listing by status still answers only that status', async () => {
    const [a, b, c] = [await queued('a'), await queued('b'), await queued('c')];
    if (!a || !b || !c) throw new Error('not queued');
    const now = new Date().toISOString();
    const claimedA: Task = { ...a, status: 'claimed', claimed_at: now, attempts: 1 };
    const claimedB: Task = { ...b, status: 'claimed', claimed_at: now, attempts: 1 };
    await rewrite(a, claimedA);
    await rewrite(b, claimedB);
    await rewrite(claimedB, { ...claimedB, status: 'running', started_at: now });

    const ids = async (status: Parameters<typeof listUserTasks>[1]['status']) => (await listUserTasks(USER, { status, limit: 50 })).tasks.map((task) => task.id).sort();
    expect(await ids('claimed')).toEqual([a.id]);
    expect(await ids('running')).toEqual([b.id]);
    expect(await ids('active')).toEqual([a.id, b.id].sort());
    expect(await ids('pending')).toEqual([c.id]);
    expect((await rawItem(a.id)).gsi2pk).toBe((await rawItem(b.id)).gsi2pk);
  });
});
