import { beforeAll, describe, expect, it } from 'vitest';
import { PLANS, type PlanName } from '../../src/accounts/plans.js';
import type { Task } from '../../src/tasks/task.js';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { cancelTask } from '../../src/tasks/finish-task.js';
import { enqueueTasks, newTask } from '../../src/tasks/create-task.js';
import { updateUserAccount } from '../../src/accounts/limits.js';
import { taskCreateSchema } from '../../src/tasks/schemas.js';
import { getTask, listUserTasks } from '../../src/tasks/task-store.js';
import { getUser } from '../../src/accounts/user-store.js';
import { useFreshTable } from '../support/local-env.js';

const PLAN_MIX: PlanName[] = ['free', 'pro', 'team', 'free', 'pro'];
const USERS = 50;
const TASKS_PER_USER = 20;

const userId = (i: number) => `user-${String(i).padStart(2, '0')}`;
const planOf = (i: number) => PLAN_MIX[i % PLAN_MIX.length] as PlanName;

async function tasksOf(user: string): Promise<Task[]> {
  const page = await listUserTasks(user, { limit: 100 });
  return page.tasks;
}

describe('claiming with 8 orchestrators at once', () => {
  beforeAll(async () => {
    await useFreshTable({ MAX_PENDING_PER_USER: '50' });
    const now = new Date();
    await Promise.all(
      Array.from({ length: USERS }, async (_, i) => {
        const user = userId(i);
        await updateUserAccount(user, (account) => ({ ...account, plan: planOf(i) }), 'test-admin');
        const tasks = Array.from({ length: TASKS_PER_USER }, (_, n) =>
          newTask(user, taskCreateSchema.parse({ title: `task ${n}`, priority: (n % 4) + 1 }), new Date(now.getTime() + n)),
        );
        await enqueueTasks(user, tasks, now);
      }),
    );
  }, 120_000);

  it('never lets a user exceed the plan, never claims a task twice, and fills every free slot', async () => {
    // Act: 8 orchestrators race over the same backlog.
    const results = await Promise.all(Array.from({ length: 8 }, () => claimNextTasks({ maxClaims: 500 })));

    // Assess
    const claimedIds = results.flatMap((r) => r.claimed.map((t) => t.id));
    expect(new Set(claimedIds).size).toBe(claimedIds.length);
    let expectedTotal = 0;
    for (let i = 0; i < USERS; i++) {
      const limit = PLANS[planOf(i)].max_concurrent_agents;
      expectedTotal += Math.min(limit, TASKS_PER_USER);
      const tasks = await tasksOf(userId(i));
      const active = tasks.filter((t) => t.status === 'claimed' || t.status === 'running');
      expect(active.length, `${userId(i)} on ${planOf(i)}`).toBe(Math.min(limit, TASKS_PER_USER));
      const account = await getUser(userId(i), new Date());
      expect(account.running_count).toBe(active.length);
      expect(account.pending_count).toBe(TASKS_PER_USER - active.length);
      for (const task of active) expect(task.attempts).toBe(1);
      // Within a user, the most urgent tasks go first.
      expect(Math.max(...active.map((t) => t.priority))).toBeLessThanOrEqual(Math.min(...tasks.filter((t) => t.status === 'pending').map((t) => t.priority)));
    }
    expect(claimedIds.length).toBe(expectedTotal);
  }, 120_000);

  it('refills freed slots exactly, with nobody over the limit, when slots free up during claiming', async () => {
    // Prepare: free every slot of the first 10 users while orchestrators run.
    const cancels = (async () => {
      for (let i = 0; i < 10; i++) {
        for (const task of (await tasksOf(userId(i))).filter((t) => t.status === 'claimed')) {
          await cancelTask(userId(i), task.id);
        }
      }
    })();
    await Promise.all([cancels, ...Array.from({ length: 8 }, () => claimNextTasks({ maxClaims: 500 }))]);
    await Promise.all(Array.from({ length: 4 }, () => claimNextTasks({ maxClaims: 500 })));

    for (let i = 0; i < USERS; i++) {
      const tasks = await tasksOf(userId(i));
      const active = tasks.filter((t) => t.status === 'claimed' || t.status === 'running');
      const limit = PLANS[planOf(i)].max_concurrent_agents;
      const pending = tasks.filter((t) => t.status === 'pending').length;
      expect(active.length).toBeLessThanOrEqual(limit);
      if (pending > 0) expect(active.length).toBe(limit);
      const account = await getUser(userId(i), new Date());
      expect(account.running_count).toBe(active.length);
      expect(account.pending_count).toBe(pending);
    }
    const cancelled = (await tasksOf(userId(0))).filter((t) => t.status === 'cancelled');
    expect(cancelled.length).toBeGreaterThan(0);
    for (const task of cancelled) expect((await getTask(task.id))?.status).toBe('cancelled');
  }, 120_000);
});
