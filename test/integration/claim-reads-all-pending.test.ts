import { beforeAll, describe, expect, it } from 'vitest';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { claimNextTasks, INDEX_LAG_RECHECK_MS } from '../../src/scheduling/claim.js';
import { ddb } from '../../src/platform/aws.js';
import { getConfig } from '../../src/platform/config.js';
import { getUser } from '../../src/accounts/user-store.js';
import { enqueueTasks, newTask } from '../../src/tasks/create-task.js';
import { updateUserAccount } from '../../src/accounts/limits.js';
import { taskCreateSchema } from '../../src/tasks/schemas.js';
import type { Task } from '../../src/tasks/task.js';
import { getTask } from '../../src/tasks/task-store.js';
import { viewTasks } from '../../src/tasks/task-views.js';
import { useFreshTable } from '../support/local-env.js';

const USER = 'gina';
const T0 = new Date(Date.UTC(2026, 2, 3, 22));
const TOMORROW = new Date(T0.getTime() + 86_400_000).toISOString();
let claimable: Task;

describe('a claimable task behind more than 250 that cannot start yet', () => {
  beforeAll(async () => {
    await useFreshTable();
    // Prepare: an admin lets this user queue 300; 270 urgent tasks wait for tomorrow, one may start now.
    await updateUserAccount(USER, (account) => ({ ...account, plan: 'team', overrides: { max_pending_tasks: 300 } }), 'test-admin', T0);
    for (let batch = 0; batch < 3; batch++) {
      const tasks = Array.from({ length: 90 }, (_, i) =>
        newTask(USER, taskCreateSchema.parse({ title: `tomorrow ${batch}-${i}`, priority: 1, not_before: TOMORROW }), new Date(T0.getTime() + batch * 100 + i)),
      );
      await enqueueTasks(USER, tasks, T0);
    }
    [claimable] = (await enqueueTasks(USER, [newTask(USER, taskCreateSchema.parse({ title: 'now', priority: 4 }), new Date(T0.getTime() + 1000))], T0)) as [Task];
  }, 60_000);

  it('shows its true queue position', async () => {
    const [view] = await viewTasks(USER, [claimable], new Date(T0.getTime() + 2000));
    expect(view?.queue_position).toBe(271);
  });

  it('is found and claimed', async () => {
    const result = await claimNextTasks({ now: () => new Date(T0.getTime() + 2000) });
    expect(result.claimed.map((task) => task.id)).toEqual([claimable.id]);
    expect((await getTask(claimable.id))?.status).toBe('claimed');
  });
});

describe('a pending index that lags behind the account', () => {
  it('is looked at again within seconds, and the task is claimed once the index catches up', async () => {
    // Prepare: a task whose pending-index entry is not visible yet (as a GSI a few seconds behind).
    await useFreshTable();
    const now = new Date(Date.UTC(2026, 2, 4, 9));
    const [task] = (await enqueueTasks('hana', [newTask('hana', taskCreateSchema.parse({ title: 'fresh' }), now)], now)) as [Task];
    const key = { pk: `TASK#${task.id}`, sk: 'TASK' };
    const stored = (await ddb().send(new GetCommand({ TableName: getConfig().tableName, Key: key }))).Item ?? {};
    const { pendpk: _pendpk, pendsk: _pendsk, ...notYetIndexed } = stored;
    await ddb().send(new PutCommand({ TableName: getConfig().tableName, Item: notYetIndexed }));

    // Act
    const missed = await claimNextTasks({ now: () => new Date(now.getTime() + 1000) });
    const recheckAt = (await getUser('hana', now)).next_eligible_at;
    await ddb().send(new PutCommand({ TableName: getConfig().tableName, Item: stored }));
    const later = await claimNextTasks({ now: () => new Date(now.getTime() + 1000 + INDEX_LAG_RECHECK_MS + 1000) });

    // Assess
    expect(missed.claimed).toEqual([]);
    expect(Date.parse(recheckAt ?? '') - now.getTime()).toBeLessThanOrEqual(1000 + INDEX_LAG_RECHECK_MS);
    expect(later.claimed.map((claimed) => claimed.id)).toEqual([task.id]);
  });
});
