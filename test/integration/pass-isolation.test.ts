import { beforeEach, describe, expect, it } from 'vitest';
import { claimNextTasks, CLAIM_FAILURE_RETRY_MS } from '../../src/scheduling/claim.js';
import { sweep } from '../../src/scheduling/sweep.js';
import { enqueueTasks, newTask } from '../../src/tasks/create-task.js';
import { updateUserAccount } from '../../src/accounts/limits.js';
import { taskCreateSchema } from '../../src/tasks/schemas.js';
import { getTask } from '../../src/tasks/task-store.js';
import { listReadyUsers } from '../../src/accounts/user-store.js';
import { takeSpawnMessages, useFreshTable, type TestEnv } from '../support/local-env.js';
import { getConfig } from '../../src/platform/config.js';
import { failRequestsMentioning } from '../../scripts/chaos/ddb-faults.js';

let env: TestEnv;
const T0 = new Date();
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

async function queueOne(userId: string, title: string, now = T0) {
  const [task] = await enqueueTasks(userId, [newTask(userId, taskCreateSchema.parse({ title }), now)], now);
  if (!task) throw new Error('not queued');
  return task;
}

beforeEach(async () => {
  env = await useFreshTable({ STALE_CLAIMING_THRESHOLD: '60' });
});

describe('one bad user never aborts an orchestrator pass', () => {
  it("claims and sends every other user's task, and retries the failing user shortly without it holding the ready index", async () => {
    // Prepare: three users, one task each; reading the pending tasks of one of them fails.
    const users = ['alice', 'broken-bob', 'carol'];
    const tasks = await Promise.all(users.map((user) => queueOne(user, `${user}'s task`)));
    const heal = failRequestsMentioning('PENDING#broken-bob');

    // Act
    let result;
    try {
      result = await claimNextTasks({ now: () => at(1) });
    } finally {
      heal();
    }

    // Assess: the other two are claimed AND have their spawn messages, whatever order the users came in.
    expect(result.claimed.map((task) => task.user_id).sort()).toEqual(['alice', 'carol']);
    expect(result.failedUsers).toEqual(['broken-bob']);
    const messages = await takeSpawnMessages(env.queues.spawnQueueUrl);
    expect(messages.map((message) => message.task_id).sort()).toEqual([tasks[0]?.id, tasks[2]?.id].sort());
    // The failing user left the head of the ready index...
    expect((await listReadyUsers(25)).users.map((user) => user.userId)).not.toContain('broken-bob');
    // ...and is claimed for once the retry delay is over.
    const later = await claimNextTasks({ now: () => at(1 + CLAIM_FAILURE_RETRY_MS / 1000 + 1) });
    expect(later.claimed.map((task) => task.id)).toEqual([tasks[1]?.id]);
    expect((await getTask(tasks[1]?.id ?? ''))?.status).toBe('claimed');
  });
});

describe('one bad task never aborts a sweep', () => {
  it('requeues the other stale claims, reports the failing task, and handles it on the next pass', async () => {
    // Prepare: two stale claims (no sandbox ever started); reading the first one fails.
    await updateUserAccount('dora', (account) => ({ ...account, plan: 'pro' }), 'test');
    const first = await queueOne('dora', 'first', T0);
    const second = await queueOne('dora', 'second', at(1));
    const claimed = await claimNextTasks({ now: () => at(2), maxClaims: 1 });
    await claimNextTasks({ now: () => at(3), maxClaims: 1 });
    expect(claimed.claimed).toHaveLength(1);
    await takeSpawnMessages(env.queues.spawnQueueUrl);
    const heal = failRequestsMentioning(`TASK#${first.id}`);

    // Act
    let result;
    try {
      result = await sweep(at(getConfig().staleClaimingThresholdSeconds + 10));
    } finally {
      heal();
    }

    // Assess
    expect(result.requeued).toEqual([second.id]);
    expect(result.failedItems).toEqual([first.id]);
    expect((await getTask(second.id))?.status).toBe('pending');
    expect((await getTask(first.id))?.status).toBe('claimed');
    const next = await sweep(at(getConfig().staleClaimingThresholdSeconds + 70));
    expect(next.requeued).toEqual([first.id]);
    expect((await getTask(first.id))?.status).toBe('pending');
  });
});
