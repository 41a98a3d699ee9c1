import { beforeEach, describe, expect, it } from 'vitest';
import { getConfig } from '../../src/platform/config.js';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { failUnspawnableTask, spawnClaimedTask } from '../../src/scheduling/spawn.js';
import { sweep } from '../../src/scheduling/sweep.js';
import type { SpawnMessage } from '../../src/platform/queue/messages.js';
import { setSandboxProvider } from '../../src/sandbox/current.js';
import { taskCreateSchema } from '../../src/tasks/schemas.js';
import { cancelTask, completeTask } from '../../src/tasks/finish-task.js';
import { createTask } from '../../src/tasks/create-task.js';
import { getUserLimits, updateUserAccount } from '../../src/accounts/limits.js';
import { queueStatus, viewTasks } from '../../src/tasks/task-views.js';
import { getTask } from '../../src/tasks/task-store.js';
import { getUser } from '../../src/accounts/user-store.js';
import { DomainError } from '../../src/platform/errors.js';
import { RecordingSandboxProvider } from '../support/recording-provider.js';
import { eventually, takeSpawnMessages, takeWakeMessages, useFreshTable, type TestEnv } from '../support/local-env.js';

let env: TestEnv;
let provider: RecordingSandboxProvider;
let n = 0;
const user = () => `life-${++n}-${Date.now()}`;
const at = (base: Date, seconds: number) => new Date(base.getTime() + seconds * 1000);


async function claimAndSpawn(now: Date): Promise<SpawnMessage[]> {
  await claimNextTasks({ now: () => now });
  const messages = await takeSpawnMessages(env.queues.spawnQueueUrl);
  for (const message of messages) await spawnClaimedTask(message, () => now);
  return messages;
}

/** The reasons of the wake messages queued so far (read and deleted). */
const takeWakeReasons = async (): Promise<string[]> => (await takeWakeMessages(env.queues.wakeQueueUrl)).map((wake) => wake.reason);

beforeEach(async () => {
  env = await useFreshTable({ STALE_CLAIMING_THRESHOLD: '60' });
  provider = new RecordingSandboxProvider();
  setSandboxProvider(provider);
});

describe('task lifecycle against DynamoDB Local and the SQS server', () => {
  it('runs a free user one task at a time, settling hours exactly once even for duplicate callbacks', async () => {
    const owner = user();
    const t0 = new Date();
    const first = await createTask(owner, taskCreateSchema.parse({ title: 'first' }), t0);
    const second = await createTask(owner, taskCreateSchema.parse({ title: 'second' }), at(t0, 1));

    const [message] = await claimAndSpawn(at(t0, 2));
    expect(message?.task_id).toBe(first.id);
    expect((await getTask(first.id))?.status).toBe('running');
    expect((await getTask(second.id))?.status).toBe('pending');
    expect(await queueStatus(owner)).toMatchObject({ running: 1, pending: 1, max_concurrent: 1, can_start_more: false });

    const token = provider.tokenFor(first.id);
    const done = at(t0, 2 + 600);
    await completeTask(first.id, token, { status: 'completed', summary: 'did it', files_changed: ['a.ts'] }, done);
    await completeTask(first.id, token, { status: 'failed', error: 'late duplicate' }, at(done, 5));

    const finished = await getTask(first.id);
    expect(finished).toMatchObject({ status: 'completed', result_summary: 'did it', files_changed: ['a.ts'], used_seconds: 600 });
    const account = await getUser(owner, done);
    expect(account).toMatchObject({ running_count: 0, pending_count: 1, hours_used_seconds: 600, hours_reserved_seconds: 0 });
    expect((await getUserLimits(owner, done)).monthly_agent_hours_used).toBeCloseTo(600 / 3600, 3);

    const [next] = await claimAndSpawn(at(done, 1));
    expect(next?.task_id).toBe(second.id);
  });

  it('rejects a callback token minted for another task and changes nothing', async () => {
    const owner = user();
    const t0 = new Date();
    const a = await createTask(owner, taskCreateSchema.parse({ title: 'a' }), t0);
    await claimAndSpawn(at(t0, 1));
    const b = await createTask(user(), taskCreateSchema.parse({ title: 'b' }), t0);
    await claimAndSpawn(at(t0, 1));
    const error = await completeTask(b.id, provider.tokenFor(a.id), { status: 'completed' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('UNAUTHORIZED');
    expect((await getTask(b.id))?.status).toBe('running');
  });

  it('a redelivered spawn message never starts a second sandbox', async () => {
    const owner = user();
    const t0 = new Date();
    const task = await createTask(owner, taskCreateSchema.parse({ title: 'once' }), t0);
    await claimNextTasks({ now: () => at(t0, 1) });
    const [message] = await takeSpawnMessages(env.queues.spawnQueueUrl);
    if (!message) throw new Error('no spawn message');
    expect(await spawnClaimedTask(message, () => at(t0, 2))).toBe('started');
    expect(await spawnClaimedTask(message, () => at(t0, 3))).toBe('already-running');
    expect(provider.spawned.size).toBe(1);
    expect((await getTask(task.id))?.started_at).toBe(at(t0, 2).toISOString());
  });

  it('a task cancelled while its sandbox starts gets that sandbox terminated', async () => {
    const owner = user();
    const t0 = new Date();
    const task = await createTask(owner, taskCreateSchema.parse({ title: 'race' }), t0);
    await claimNextTasks({ now: () => at(t0, 1) });
    const [message] = await takeSpawnMessages(env.queues.spawnQueueUrl);
    if (!message) throw new Error('no spawn message');
    const original = provider.spawn.bind(provider);
    provider.spawn = async (request) => {
      const sandbox = await original(request);
      await cancelTask(owner, task.id, at(t0, 2)); // the user cancels mid-spawn
      return sandbox;
    };
    expect(await spawnClaimedTask(message, () => at(t0, 3))).toBe('cancelled-meanwhile');
    // Stopped by the cancel (found by task and attempt) and again by the spawner: both are safe.
    expect(new Set(provider.terminated)).toEqual(new Set([`rec-${task.id}-1`]));
    expect((await getTask(task.id))?.status).toBe('cancelled');
    expect(await getUser(owner, t0)).toMatchObject({ running_count: 0, pending_count: 0 });
  });

  it('wakes the orchestrator for the freed slot while the ended task\'s sandbox is still stopping', async () => {
    const owner = user();
    const t0 = new Date();
    const running = await createTask(owner, taskCreateSchema.parse({ title: 'stopping slowly' }), t0);
    await claimAndSpawn(at(t0, 1));
    // The next task waits for the slot (a free plan runs one at a time).
    await createTask(owner, taskCreateSchema.parse({ title: 'next' }), at(t0, 1));
    await takeWakeReasons();
    let release = (): void => undefined;
    const stopping = new Promise<void>((resolve) => (release = resolve));
    provider.terminate = async () => stopping; // an ECS StopTask that takes its time
    const cancelled = cancelTask(owner, running.id, at(t0, 2));
    const woken = await eventually(async () => {
      const reasons = await takeWakeReasons();
      return reasons.length > 0 ? reasons : undefined;
    }, 10_000, 'a wake message');
    expect(woken).toContain('slot-freed');
    release();
    await cancelled;
    expect((await getTask(running.id))?.status).toBe('cancelled');
  });

  it('wakes nobody when the ended task was its owner\'s last one the orchestrator could start, and wakes for one that can start', async () => {
    const owner = user();
    const t0 = new Date();
    const only = await createTask(owner, taskCreateSchema.parse({ title: 'the only one' }), t0);
    await claimAndSpawn(at(t0, 1));
    // Queued behind it: a task for tomorrow (its own timed wake brings it).
    await createTask(owner, taskCreateSchema.parse({ title: 'tomorrow', not_before: at(t0, 86_400).toISOString() }), at(t0, 2));
    await takeWakeReasons();

    await completeTask(only.id, provider.tokenFor(only.id), { status: 'completed' }, at(t0, 3));
    expect(await takeWakeReasons()).toEqual([]);

    const other = user();
    const first = await createTask(other, taskCreateSchema.parse({ title: 'first' }), t0);
    await claimAndSpawn(at(t0, 1));
    await createTask(other, taskCreateSchema.parse({ title: 'second' }), at(t0, 2));
    await takeWakeReasons();
    await completeTask(first.id, provider.tokenFor(first.id), { status: 'failed', error: 'no luck' }, at(t0, 3));
    expect(await takeWakeReasons()).toEqual(['slot-freed']);
  });

  it('a stale claim goes back to pending with its unrecorded sandbox stopped, is retried, and fails after three attempts', async () => {
    const owner = user();
    const t0 = new Date();
    const task = await createTask(owner, taskCreateSchema.parse({ title: 'never starts' }), t0);
    let now = t0;
    for (let attempt = 1; attempt <= 3; attempt++) {
      now = at(now, 1);
      const result = await claimNextTasks({ now: () => now });
      expect(result.claimed.map((t) => t.id)).toEqual([task.id]);
      const [message] = await takeSpawnMessages(env.queues.spawnQueueUrl);
      // The spawner started the sandbox and crashed before writing `running`.
      if (message) await provider.spawn({ task: { id: task.id, attempt: message.attempt, title: '', description: '', user_id: owner }, timeoutSeconds: 60, callbackUrl: '', callbackToken: message.callback_token });
      // Past the stale threshold (STALE_CLAIMING_THRESHOLD raised to what the spawn queue's receives need).
      now = at(now, getConfig().staleClaimingThresholdSeconds + 1);
      const swept = await sweep(now);
      // That unseen sandbox is stopped before the next attempt may start another.
      expect(provider.terminated).toContain(`rec-${task.id}-${attempt}`);
      if (attempt < 3) expect(swept.requeued).toEqual([task.id]);
      else expect(swept.failedStale).toEqual([task.id]);
    }
    const failed = await getTask(task.id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 3 });
    expect(failed?.failure_reason).toContain('3 claims');
    expect(await getUser(owner, now)).toMatchObject({ running_count: 0, pending_count: 0, hours_reserved_seconds: 0, hours_used_seconds: 0 });
  });

  it('a running task past its timeout is terminated, failed "Timeout" and charged its hours', async () => {
    const owner = user();
    const t0 = new Date();
    const task = await createTask(owner, taskCreateSchema.parse({ title: 'hangs' }), t0);
    await claimAndSpawn(at(t0, 1));
    const running = await getTask(task.id);
    expect(running?.timeout_at).toBe(at(t0, 1 + 1800).toISOString());
    expect((await sweep(at(t0, 1000))).timedOut).toEqual([]);
    const swept = await sweep(at(t0, 1 + 1800 + 1));
    expect(swept.timedOut).toEqual([task.id]);
    expect(provider.terminated).toEqual([`rec-${task.id}-1`]);
    expect(await getTask(task.id)).toMatchObject({ status: 'failed', failure_reason: 'Timeout', used_seconds: 1800 });
    expect(await getUser(owner, t0)).toMatchObject({ running_count: 0, hours_used_seconds: 1800 });
  });

  it('a spawn that exhausted its retries fails the task instead of leaving it claimed', async () => {
    const owner = user();
    const t0 = new Date();
    const task = await createTask(owner, taskCreateSchema.parse({ title: 'no capacity' }), t0);
    await claimNextTasks({ now: () => at(t0, 1) });
    const [message] = await takeSpawnMessages(env.queues.spawnQueueUrl);
    if (!message) throw new Error('no spawn message');
    provider.failNextSpawns = 1;
    await expect(spawnClaimedTask(message, () => at(t0, 2))).rejects.toThrow('provider unavailable');
    expect(await failUnspawnableTask(message, at(t0, 3))).toBe(true);
    expect(await failUnspawnableTask(message, at(t0, 4))).toBe(false);
    const failed = await getTask(task.id);
    expect(failed?.status).toBe('failed');
    expect(failed?.failure_reason).toContain('could not be started');
    expect(await getUser(owner, t0)).toMatchObject({ running_count: 0, hours_reserved_seconds: 0 });
  });

  it('blocks a user whose monthly hours are gone, and lets them start again when an admin raises the limit', async () => {
    const owner = user();
    const t0 = new Date();
    await updateUserAccount(owner, (account) => ({ ...account, overrides: { monthly_agent_hours: 0.5 } }), 'admin-1', t0);
    const first = await createTask(owner, taskCreateSchema.parse({ title: 'uses it all' }), t0);
    await claimAndSpawn(at(t0, 1));
    await completeTask(first.id, provider.tokenFor(first.id), { status: 'completed' }, at(t0, 1 + 1800));
    const error = await createTask(owner, taskCreateSchema.parse({ title: 'too much' }), at(t0, 1900)).catch((e: unknown) => e);
    expect((error as DomainError).code).toBe('MONTHLY_LIMIT_REACHED');

    await updateUserAccount(owner, (account) => ({ ...account, overrides: { monthly_agent_hours: 1 } }), 'admin-1', at(t0, 1901));
    const second = await createTask(owner, taskCreateSchema.parse({ title: 'allowed again' }), at(t0, 1902));
    await claimAndSpawn(at(t0, 1903));
    expect(await getTask(second.id)).toMatchObject({ status: 'running', reserved_seconds: 1800 });
  });

  it('a pending task with hours nearly gone waits with blocked_reason and starts after the billing cycle resets', async () => {
    const owner = user();
    const t0 = new Date('2026-11-20T10:00:00Z');
    await updateUserAccount(owner, (account) => ({ ...account, overrides: { monthly_agent_hours: 0.5 } }), 'admin-1', t0);
    const a = await createTask(owner, taskCreateSchema.parse({ title: 'a' }), t0);
    const b = await createTask(owner, taskCreateSchema.parse({ title: 'b' }), at(t0, 0.5));
    await claimAndSpawn(at(t0, 1));
    await completeTask(a.id, provider.tokenFor(a.id), { status: 'completed' }, at(t0, 1 + 1795));
    await claimAndSpawn(at(t0, 1800));
    const [view] = await viewTasks(owner, [(await getTask(b.id))!], at(t0, 1800));
    expect(view).toMatchObject({ task: { status: 'pending' }, blocked_reason: expect.stringContaining('exhausted') });

    const nextMonth = new Date('2026-12-01T00:00:01Z');
    await claimAndSpawn(nextMonth);
    expect(await getTask(b.id)).toMatchObject({ status: 'running', hours_window: '2026-12-01' });
  });
});
