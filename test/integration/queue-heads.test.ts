import { beforeEach, describe, expect, it } from 'vitest';
import type { Task } from '../../src/tasks/task.js';
import { claimNextTasks, type ClaimResult } from '../../src/scheduling/claim.js';
import { QueueHeads } from '../../src/scheduling/queue-heads.js';
import { cancelTask } from '../../src/tasks/finish-task.js';
import { createTask, enqueueTasks, newTask } from '../../src/tasks/create-task.js';
import { updateUserAccount } from '../../src/accounts/limits.js';
import { taskCreateSchema } from '../../src/tasks/schemas.js';
import { listUserTasks } from '../../src/tasks/task-store.js';
import { getUser } from '../../src/accounts/user-store.js';
import { useFreshTable } from '../support/local-env.js';
import { ddb } from '../../src/platform/aws.js';

/*
 * An orchestrator that remembers the queue head of the users it claimed for claims their next
 * task with the transaction alone; these cases show that it still claims exactly what a fresh
 * read would have: in claim order, never twice, never over the limit, never a task that left.
 */

const USER = 'heads-user';

async function queue(user: string, titles: string[], start: Date, priority = 3): Promise<Task[]> {
  const tasks = titles.map((title, n) => newTask(user, taskCreateSchema.parse({ title, priority }), new Date(start.getTime() + n)));
  return enqueueTasks(user, tasks, start);
}

async function tasksOf(user: string): Promise<Task[]> {
  return (await listUserTasks(user, { limit: 100 })).tasks;
}

/** One claim pass for `user` alone (page of one user, one claim). */
const claimOne = (heads: QueueHeads | undefined): Promise<ClaimResult> => claimNextTasks({ maxClaims: 1, queueHeads: heads });

const titlesOf = (result: ClaimResult): string[] => result.claimed.map((task) => task.title);

describe('claims from a remembered queue head', () => {
  beforeEach(async () => {
    await useFreshTable({ MAX_PENDING_PER_USER: '50' });
    await updateUserAccount(USER, (account) => ({ ...account, plan: 'enterprise' }), 'test-admin');
  });

  it('claims the next tasks in order with no read of the queue, and reads afresh once the remembered ones are used', async () => {
    await queue(USER, ['t1', 't2', 't3', 't4', 't5', 't6', 't7'], new Date(Date.now() - 60_000));
    const heads = new QueueHeads();
    const passes: ClaimResult[] = [];
    for (let i = 0; i < 7; i++) passes.push(await claimOne(heads));

    expect(passes.flatMap(titlesOf)).toEqual(['t1', 't2', 't3', 't4', 't5', 't6', 't7']);
    // The first claim read a page of 5: the 4 behind t1 were claimed from memory; t6 needed a read again.
    expect(passes.map((pass) => pass.fromQueueHeads)).toEqual([0, 1, 1, 1, 1, 0, 1]);
    const account = await getUser(USER, new Date());
    expect(account.running_count).toBe(7);
    expect(account.pending_count).toBe(0);
  });

  it('claims from a fresh read when the read of remembered heads\' accounts fails', async () => {
    await queue(USER, ['t1', 't2', 't3'], new Date(Date.now() - 60_000));
    const heads = new QueueHeads();
    expect(titlesOf(await claimOne(heads))).toEqual(['t1']);

    // Every BatchGetItem of accounts alone (the remembered heads' read) fails from now on.
    const name = `failAccountsRead-${Math.random()}`;
    let failed = 0;
    ddb().middlewareStack.add(
      (next) => async (args) => {
        const keys = (args.input as { RequestItems?: Record<string, { Keys?: { sk?: string }[] }> }).RequestItems;
        const all = Object.values(keys ?? {}).flatMap((table) => table.Keys ?? []);
        if (all.length > 0 && all.every((key) => key.sk === 'PROFILE')) {
          failed += 1;
          throw Object.assign(new Error('injected: accounts read failed'), { name: 'InternalServerError' });
        }
        return next(args);
      },
      { step: 'initialize', name },
    );
    try {
      const pass = await claimOne(heads);
      expect(failed).toBeGreaterThan(0);
      expect(titlesOf(pass)).toEqual(['t2']);
      expect(pass.fromQueueHeads).toBe(0);
      expect(pass.failedUsers).toEqual([]);
    } finally {
      ddb().middlewareStack.remove(name);
    }
  });

  it('claims a more urgent task queued after the head was remembered first', async () => {
    await queue(USER, ['t1', 't2', 't3'], new Date(Date.now() - 60_000));
    const heads = new QueueHeads();
    expect(titlesOf(await claimOne(heads))).toEqual(['t1']);

    await createTask(USER, taskCreateSchema.parse({ title: 'urgent', priority: 1 }));
    const next = await claimOne(heads);

    expect(titlesOf(next)).toEqual(['urgent']);
    expect(next.fromQueueHeads).toBe(0);
    expect(next.staleQueueHeads).toBe(1);
    expect(titlesOf(await claimOne(heads))).toEqual(['t2']);
  });

  it('never claims a remembered task that was cancelled meanwhile', async () => {
    const [, second] = await queue(USER, ['t1', 't2', 't3'], new Date(Date.now() - 60_000));
    const heads = new QueueHeads();
    expect(titlesOf(await claimOne(heads))).toEqual(['t1']);

    await cancelTask(USER, second?.id ?? '');
    expect(titlesOf(await claimOne(heads))).toEqual(['t3']);

    const byTitle = new Map((await tasksOf(USER)).map((task) => [task.title, task.status]));
    expect(byTitle.get('t2')).toBe('cancelled');
  });

  it('a head another orchestrator\'s claim made stale, as the ready index shows, is dropped before the claim: a fresh read, no lost race', async () => {
    await queue(USER, ['t1', 't2', 't3', 't4'], new Date(Date.now() - 60_000));
    const mine = new QueueHeads();
    const theirs = new QueueHeads();
    expect(titlesOf(await claimOne(mine))).toEqual(['t1']);
    // The other orchestrator claims for the user next; the ready index shows its claim.
    expect(titlesOf(await claimOne(theirs))).toEqual(['t2']);

    const pass = await claimOne(mine);

    expect(titlesOf(pass)).toEqual(['t3']);
    expect(pass.conflicts).toBe(0);
    expect(pass.staleQueueHeads).toBe(0);
    expect(pass.fromQueueHeads).toBe(0);
  });

  it('keeps the head when only a slot was freed: the refill is the transaction alone', async () => {
    await updateUserAccount(USER, (account) => ({ ...account, overrides: { max_concurrent_agents: 1 } }), 'test-admin');
    await queue(USER, ['t1', 't2', 't3'], new Date(Date.now() - 60_000));
    const heads = new QueueHeads();
    const [first] = (await claimOne(heads)).claimed;
    // Full: nothing more is claimed until the slot frees.
    expect((await claimOne(heads)).claimed).toEqual([]);

    await cancelTask(USER, first?.id ?? '');
    const refill = await claimOne(heads);

    expect(titlesOf(refill)).toEqual(['t2']);
    expect(refill.fromQueueHeads).toBe(1);
    expect((await getUser(USER, new Date())).running_count).toBe(1);
  });

  it('does not remember tasks behind one that waits for its not_before, which must go first once due', async () => {
    const start = new Date(Date.now() - 60_000);
    await queue(USER, ['t1', 't2'], start);
    await createTask(USER, taskCreateSchema.parse({ title: 'later', priority: 3, not_before: new Date(Date.now() + 3_600_000).toISOString() }));
    await queue(USER, ['t3'], new Date(Date.now() + 5));
    const heads = new QueueHeads();

    expect(titlesOf(await claimOne(heads))).toEqual(['t1']);
    expect(titlesOf(await claimOne(heads))).toEqual(['t2']);
    // t3 sorts after `later` (queued after it), which waits: t3 comes from a fresh read.
    const third = await claimOne(heads);
    expect(titlesOf(third)).toEqual(['t3']);
    expect(third.fromQueueHeads).toBe(0);
  });

  it('remembers no queue while its newest task may not be in the pending index yet', async () => {
    const queuedAt = new Date();
    await queue(USER, ['t1', 't2', 't3', 't4'], queuedAt);
    const heads = new QueueHeads();
    const at = (ms: number) => () => new Date(queuedAt.getTime() + ms);

    expect(titlesOf(await claimNextTasks({ maxClaims: 1, queueHeads: heads, now: at(500) }))).toEqual(['t1']);
    const second = await claimNextTasks({ maxClaims: 1, queueHeads: heads, now: at(1_000) });
    expect(titlesOf(second)).toEqual(['t2']);
    expect(second.fromQueueHeads).toBe(0);
    // Past the grace, the claim remembers what follows it.
    expect(titlesOf(await claimNextTasks({ maxClaims: 1, queueHeads: heads, now: at(2_500) }))).toEqual(['t3']);
    const fourth = await claimNextTasks({ maxClaims: 1, queueHeads: heads, now: at(2_600) });
    expect(titlesOf(fourth)).toEqual(['t4']);
    expect(fourth.fromQueueHeads).toBe(1);
  });

  it('with 4 orchestrators racing, each with its own memory, and tasks queued and cancelled meanwhile: no task twice, none over the limit, the most urgent first', async () => {
    const users = Array.from({ length: 12 }, (_, i) => `race-${i}`);
    const start = new Date(Date.now() - 60_000);
    await Promise.all(
      users.map(async (user, i) => {
        await updateUserAccount(user, (account) => ({ ...account, plan: 'enterprise', overrides: { max_concurrent_agents: 4 + (i % 3) } }), 'test-admin');
        await queue(user, Array.from({ length: 10 }, (_, n) => `${user}-${n}`), start);
      }),
    );
    const heads = Array.from({ length: 4 }, () => new QueueHeads());
    const meddle = (async () => {
      for (const [i, user] of users.entries()) {
        if (i % 2 === 0) await createTask(user, taskCreateSchema.parse({ title: `${user}-urgent`, priority: 1 }));
        else {
          const pending = (await tasksOf(user)).filter((task) => task.status === 'pending');
          const last = pending.sort((a, b) => a.created_at.localeCompare(b.created_at)).at(-1);
          if (last) await cancelTask(user, last.id);
        }
      }
    })();
    const passes = await Promise.all([
      meddle,
      ...heads.map(async (memory) => {
        const results: ClaimResult[] = [];
        for (let i = 0; i < 6; i++) results.push(await claimNextTasks({ maxClaims: 10, pageSize: 6, queueHeads: memory }));
        return results;
      }),
    ]);
    // Settle: one more pass each fills any slot a lost race left.
    for (const memory of heads) await claimNextTasks({ maxClaims: 100, queueHeads: memory });

    const claimed = passes.slice(1).flat().flatMap((result) => (result as ClaimResult).claimed.map((task) => task.id));
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(passes.slice(1).flat().reduce((sum, result) => sum + (result as ClaimResult).fromQueueHeads, 0)).toBeGreaterThan(0);
    for (const [i, user] of users.entries()) {
      const tasks = await tasksOf(user);
      const active = tasks.filter((task) => task.status === 'claimed' || task.status === 'running');
      const pending = tasks.filter((task) => task.status === 'pending');
      const account = await getUser(user, new Date());
      expect(active.length, user).toBe(Math.min(4 + (i % 3), active.length + pending.length));
      expect(account.running_count, user).toBe(active.length);
      expect(account.pending_count, user).toBe(pending.length);
      for (const task of active) expect(task.attempts).toBe(1);
      // Claim order among the tasks queued before the race (an urgent one may have come after the
      // user's slots were full): every one still pending sorts after every one claimed.
      const order = (task: Task) => `${task.priority}#${task.created_at}#${task.id}`;
      const original = (task: Task) => !task.title.endsWith('-urgent');
      const lastClaimed = active.filter(original).map(order).sort().at(-1) ?? '';
      for (const task of pending.filter(original)) expect(order(task) > lastClaimed, `${user}: ${task.title} pending behind a later task`).toBe(true);
    }
  }, 120_000);
});
