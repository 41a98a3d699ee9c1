import { beforeEach, describe, expect, it } from 'vitest';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { enqueueTasks, newTask } from '../../src/tasks/create-task.js';
import { updateUserAccount } from '../../src/accounts/limits.js';
import { getUser } from '../../src/accounts/user-store.js';
import { getTask } from '../../src/tasks/task-store.js';
import { taskCreateSchema } from '../../src/tasks/schemas.js';
import { ddb } from '../../src/platform/aws.js';
import { getConfig } from '../../src/platform/config.js';
import { useFreshTable } from '../support/local-env.js';

/*
 * A pass stops reading the ready index once every ready user was tried and none of them has more
 * to start (the common pass, woken for one task, reads it once). These cases show what must not
 * be lost by stopping: a user with more free slots, and users the pass's own promotion re-files.
 */

const queue = (user: string, titles: string[], now: Date, notBefore?: Date) =>
  enqueueTasks(
    user,
    titles.map((title, n) => newTask(user, taskCreateSchema.parse({ title, not_before: notBefore?.toISOString() }), new Date(now.getTime() + n))),
    now,
  );

/** Counts the Queries of the `ready` index the shared client sends until `stop`. */
function countReadyIndexQueries(): { count: number; stop: () => void } {
  const counter = { count: 0, stop: () => void ddb().middlewareStack.remove('countReadyIndexQueries') };
  ddb().middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { IndexName?: string };
      if (input.IndexName === 'ready') counter.count += 1;
      return next(args);
    },
    { step: 'initialize', name: 'countReadyIndexQueries' },
  );
  return counter;
}

describe('the rounds of one orchestrator pass', () => {
  beforeEach(async () => {
    await useFreshTable();
  });

  it('claims every task a user has free slots for, in claim order, in one pass', async () => {
    await updateUserAccount('roomy', (account) => ({ ...account, plan: 'enterprise' }), 'test-admin');
    const tasks = await queue('roomy', ['one', 'two', 'three'], new Date());

    const pass = await claimNextTasks();

    expect(pass.claimed.map((task) => task.id)).toEqual(tasks.map((task) => task.id));
  });

  it('claims, in the same pass, a user its own promotion re-filed while it claimed for another', async () => {
    const now = new Date();
    const [ready] = await queue('ready-now', ['now'], now);
    const [waiting] = await queue('waits', ['later'], now, new Date(now.getTime() + 60_000));
    const later = new Date(now.getTime() + 61_000);

    const pass = await claimNextTasks({ now: () => later });

    expect(pass.promoted).toBe(1);
    expect(pass.claimed.map((task) => task.id).sort()).toEqual([ready?.id, waiting?.id].sort());
  });

  it('a user another orchestrator filled after the round read it counts as a lost race, with no write spent on it', async () => {
    // One slot (free plan) and two tasks: once the other orchestrator claims the first, the user is full.
    const [first, second] = await queue('contested', ['first', 'second'], new Date());
    const versionBefore = (await getUser('contested', new Date())).version;
    // The other orchestrator's pass runs just as this one starts reading the user's queue.
    let other: Awaited<ReturnType<typeof claimNextTasks>> | undefined;
    let interleaved = false;
    const interleave = 'otherOrchestratorFirst';
    ddb().middlewareStack.add(
      (next) => async (args) => {
        if (!interleaved && (args.input as { IndexName?: string }).IndexName === 'pending') {
          interleaved = true;
          other = await claimNextTasks();
        }
        return next(args);
      },
      { step: 'initialize', name: interleave },
    );
    let pass: Awaited<ReturnType<typeof claimNextTasks>>;
    try {
      pass = await claimNextTasks();
    } finally {
      ddb().middlewareStack.remove(interleave);
    }

    expect(other?.claimed.map((task) => task.id)).toEqual([first?.id]);
    expect(pass.claimed).toEqual([]);
    expect(pass.conflicts).toBe(1);
    // The account was written once, by the other orchestrator's claim: no re-filing write of its own.
    expect((await getUser('contested', new Date())).version).toBe(versionBefore + 1);
    expect((await getTask(second?.id ?? ''))?.status).toBe('pending');
  });

  it('a pass that may make 25 claims makes them in one round when 40 users are ready', async () => {
    const now = new Date();
    await Promise.all(Array.from({ length: 40 }, (_, n) => queue(`many-${n}`, ['only'], now)));
    const readyReads = countReadyIndexQueries();
    try {
      // 16 at once: claims that come back in one group commit are counted as they come.
      const pass = await claimNextTasks({ maxClaims: 25, concurrency: 16 });

      expect(pass.claimed).toHaveLength(25);
      expect(new Set(pass.claimed.map((task) => task.user_id)).size).toBe(25);
      // One read of the ready index: a claim just made is never counted twice (as made and as in
      // flight), which would stop the round one claim short and cost the pass a second read.
      expect(readyReads.count).toBe(getConfig().schedulerShards);
    } finally {
      readyReads.stop();
    }
  });

  it('a race lost to another orchestrator is made up for by the next user the round read, with no second read of the ready index', async () => {
    const now = new Date();
    await Promise.all(['a', 'b', 'c'].map((user) => queue(`spare-${user}`, ['only'], now)));
    // The other orchestrator claims for whichever user this pass reads first, just before the read.
    let contested: string | undefined;
    let other: Awaited<ReturnType<typeof claimNextTasks>> | undefined;
    const interleave = 'otherOrchestratorTakesOne';
    ddb().middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { IndexName?: string; ExpressionAttributeValues?: Record<string, unknown> };
        if (contested === undefined && input.IndexName === 'pending') {
          contested = String(input.ExpressionAttributeValues?.[':p']).replace(/^PENDING#/, '');
          other = await claimNextTasks({ forUsers: [contested], readReady: false });
        }
        return next(args);
      },
      { step: 'initialize', name: interleave },
    );
    const readyReads = countReadyIndexQueries();
    let pass: Awaited<ReturnType<typeof claimNextTasks>>;
    try {
      // A page of 2 users of the 3 ready: the third is the round's spare.
      pass = await claimNextTasks({ pageSize: 2, maxClaims: 2 });
    } finally {
      readyReads.stop();
      ddb().middlewareStack.remove(interleave);
    }

    expect(other?.claimed.map((task) => task.user_id)).toEqual([contested]);
    expect(pass.conflicts).toBe(1);
    // The two users the other orchestrator did not claim for, in this pass's one round.
    expect(pass.claimed.map((task) => task.user_id).sort()).toEqual(['spare-a', 'spare-b', 'spare-c'].filter((user) => user !== contested));
    expect(readyReads.count).toBe(getConfig().schedulerShards);
  });

  it('a pass woken for one task reads the ready index once, and the next pass finds nothing', async () => {
    await queue('single', ['only'], new Date());
    const readyReads = countReadyIndexQueries();
    try {
      const first = await claimNextTasks();
      const readsOfFirst = readyReads.count;
      const second = await claimNextTasks();

      expect(first.claimed).toHaveLength(1);
      // One round: a Query per shard of the ready index (8 by default), not a second round's.
      expect(readsOfFirst).toBe(getConfig().schedulerShards);
      expect(second.claimed).toHaveLength(0);
    } finally {
      readyReads.stop();
    }
  });
});
