import { beforeEach, describe, expect, it } from 'vitest';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { spawnClaimedTask } from '../../src/scheduling/spawn.js';
import { sweep } from '../../src/scheduling/sweep.js';
import type { SpawnMessage } from '../../src/platform/queue/messages.js';
import { setSandboxProvider } from '../../src/sandbox/current.js';
import { taskCreateSchema } from '../../src/tasks/schemas.js';
import { cancelTask, completeTask, endAttempt } from '../../src/tasks/finish-task.js';
import { transitionTask } from '../../src/tasks/transition.js';
import { createTask } from '../../src/tasks/create-task.js';
import { getTask } from '../../src/tasks/task-store.js';
import { getUser } from '../../src/accounts/user-store.js';
import { creditChargeItems, settlementItems, withTaskCharge } from '../../src/credits/charges.js';
import { listLedger } from '../../src/credits/ledger-store.js';
import { viewTasks } from '../../src/tasks/task-views.js';
import { RecordingSandboxProvider } from '../support/recording-provider.js';
import { takeSpawnMessages, useFreshTable, type TestEnv } from '../support/local-env.js';

let env: TestEnv;
let provider: RecordingSandboxProvider;
let n = 0;
const user = () => `retry-${++n}-${Date.now()}`;
const at = (base: Date, seconds: number) => new Date(base.getTime() + seconds * 1000);
const secondsBetween = (from: Date, iso: string | null | undefined) => (Date.parse(iso ?? '') - from.getTime()) / 1000;

async function claimAndSpawn(now: Date): Promise<SpawnMessage[]> {
  await claimNextTasks({ now: () => now, chargeItems: creditChargeItems });
  const messages = await takeSpawnMessages(env.queues.spawnQueueUrl);
  for (const message of messages) await spawnClaimedTask(message, () => now);
  return messages;
}

beforeEach(async () => {
  env = await useFreshTable({ STALE_CLAIMING_THRESHOLD: '60' });
  provider = new RecordingSandboxProvider();
  setSandboxProvider(provider);
});

describe('retries with backoff against DynamoDB Local', () => {
  it('a task that fails once goes back to pending after the backoff, keeps its place, and succeeds on the retry', async () => {
    const owner = user();
    const t0 = new Date();
    const flaky = await createTask(owner, taskCreateSchema.parse({ title: 'flaky', max_attempts: 3, retry_backoff_seconds: 100 }), t0);
    const later = await createTask(owner, taskCreateSchema.parse({ title: 'later' }), at(t0, 1));

    expect((await claimAndSpawn(at(t0, 2))).map((m) => m.task_id)).toEqual([flaky.id]);
    const failedAt = at(t0, 2 + 300);
    await completeTask(flaky.id, provider.tokenFor(flaky.id), { status: 'failed', error: 'tests red' }, failedAt);

    const waiting = await getTask(flaky.id);
    expect(waiting).toMatchObject({ status: 'pending', used_seconds: 300, failure_reason: null });
    // Attempt 1 failed: 100 s x 2^0, ±10 % jitter.
    expect(secondsBetween(failedAt, waiting?.not_before)).toBeGreaterThanOrEqual(90);
    expect(secondsBetween(failedAt, waiting?.not_before)).toBeLessThanOrEqual(110);
    expect(waiting?.attempt_history).toEqual([
      expect.objectContaining({ attempt: 1, outcome: 'failed', failure_reason: 'tests red', used_seconds: 300, hours: 0.0833, ended_at: failedAt.toISOString() }),
    ]);
    // The hours of the failed attempt are charged; its slot is free.
    expect(await getUser(owner, failedAt)).toMatchObject({ running_count: 0, pending_count: 2, hours_used_seconds: 300, hours_reserved_seconds: 0 });
    const [view] = await viewTasks(owner, [waiting!], failedAt);
    expect(view?.queue_position).toBe(1); // still ahead of "later" in the claim order

    // While it backs off the slot goes to the next task.
    expect((await claimAndSpawn(at(failedAt, 1))).map((m) => m.task_id)).toEqual([later.id]);
    await completeTask(later.id, provider.tokenFor(later.id), { status: 'completed' }, at(failedAt, 60));

    // Before not_before nothing starts; after it, the retry does.
    expect(await claimAndSpawn(at(failedAt, 80))).toEqual([]);
    const retryAt = new Date(Date.parse(waiting?.not_before ?? '') + 1000);
    expect((await claimAndSpawn(retryAt)).map((m) => m.task_id)).toEqual([flaky.id]);
    await completeTask(flaky.id, provider.tokenFor(flaky.id), { status: 'completed', summary: 'green' }, at(retryAt, 120));

    const done = await getTask(flaky.id);
    expect(done).toMatchObject({ status: 'completed', result_summary: 'green', used_seconds: 420 });
    expect(done?.attempt_history?.map((a) => [a.attempt, a.outcome, a.used_seconds])).toEqual([
      [1, 'failed', 300],
      [2, 'completed', 120],
    ]);
    expect((await getUser(owner, at(retryAt, 120))).hours_used_seconds).toBe(300 + 59 + 120);
  });

  it('fails for good after max_attempts, with the backoff doubling each time', async () => {
    const owner = user();
    let now = new Date();
    const task = await createTask(owner, taskCreateSchema.parse({ title: 'hopeless', max_attempts: 3, retry_backoff_seconds: 60 }), now);
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect((await claimAndSpawn(now)).map((m) => m.task_id)).toEqual([task.id]);
      now = at(now, 10);
      await completeTask(task.id, provider.tokenFor(task.id), { status: 'failed', error: `boom ${attempt}` }, now);
      const after = await getTask(task.id);
      if (attempt < 3) {
        delays.push(secondsBetween(now, after?.not_before));
        now = new Date(Date.parse(after?.not_before ?? '') + 1000);
      }
    }
    expect(delays[0]).toBeGreaterThanOrEqual(54);
    expect(delays[0]).toBeLessThanOrEqual(66);
    expect(delays[1]).toBeGreaterThanOrEqual(108);
    expect(delays[1]).toBeLessThanOrEqual(132);
    const failed = await getTask(task.id);
    expect(failed).toMatchObject({ status: 'failed', failure_reason: 'boom 3', used_seconds: 30 });
    expect(failed?.attempt_history?.map((a) => a.outcome)).toEqual(['failed', 'failed', 'failed']);
    expect(await getUser(owner, now)).toMatchObject({ running_count: 0, pending_count: 0, hours_used_seconds: 30 });
    expect(await claimAndSpawn(at(now, 3600))).toEqual([]);
  });

  it('a timed-out attempt is retried; a cancel is not', async () => {
    const owner = user();
    const t0 = new Date();
    const task = await createTask(owner, taskCreateSchema.parse({ title: 'slow', max_attempts: 2, retry_backoff_seconds: 30 }), t0);
    await claimAndSpawn(t0);
    const running = await getTask(task.id);
    const timeoutAt = new Date(Date.parse(running?.timeout_at ?? ''));
    await sweep(at(timeoutAt, 1));
    const retrying = await getTask(task.id);
    expect(retrying).toMatchObject({ status: 'pending' });
    expect(retrying?.attempt_history?.[0]).toMatchObject({ outcome: 'failed', failure_reason: 'Timeout' });
    await cancelTask(owner, task.id, at(timeoutAt, 2));
    const cancelled = await getTask(task.id);
    expect(cancelled).toMatchObject({ status: 'cancelled' });
    expect(cancelled?.attempt_history).toHaveLength(1);
    expect(await getUser(owner, at(timeoutAt, 2))).toMatchObject({ running_count: 0, pending_count: 0 });
  });

  it('charges credits once per attempt, and the ledger shows each', async () => {
    const owner = user();
    const t0 = new Date();
    const spaceId = `personal:${owner}`;
    const task = await createTask(
      owner,
      taskCreateSchema.parse({ title: 'send', type: 'action', integration: 'gmail', action: 'send', execution_preference: 'remote', max_attempts: 2, retry_backoff_seconds: 1 }),
      t0,
    );
    await claimAndSpawn(t0);
    await completeTask(task.id, provider.tokenFor(task.id), { status: 'failed', error: 'smtp down' }, at(t0, 5));
    // A duplicate of the failed attempt's report changes nothing.
    await completeTask(task.id, provider.tokenFor(task.id), { status: 'failed', error: 'smtp down' }, at(t0, 6));
    await claimAndSpawn(at(t0, 10));
    await completeTask(task.id, provider.tokenFor(task.id), { status: 'completed' }, at(t0, 15));

    const done = await getTask(task.id);
    expect(done?.status).toBe('completed');
    expect(done?.attempt_history?.map((a) => a.credits)).toEqual([1, 1]);
    expect(done?.actual_credits).toBe(2);
    const { entries } = await listLedger(spaceId, { view: 'charged', limit: 20 });
    const charges = entries.filter((e) => e.task_id === task.id && e.reason === 'charge');
    expect(charges.map((e) => e.credits).sort()).toEqual([1, 1]);
    expect(new Set(charges.map((e) => e.id)).size).toBe(2);
    const sum = entries.filter((e) => e.task_id === task.id).reduce((total, e) => total + e.credits, 0);
    expect(sum).toBe(2);
  });

  it('a settlement handed the task as read before its retry settles the attempt in progress, not the one that ended', async () => {
    const owner = user();
    const t0 = new Date();
    const task = await createTask(
      owner,
      taskCreateSchema.parse({ title: 'send', type: 'action', integration: 'gmail', action: 'send', execution_preference: 'remote', max_attempts: 2, retry_backoff_seconds: 1 }),
      t0,
    );
    await claimAndSpawn(t0);
    const readBeforeRetry = await getTask(task.id);
    await completeTask(task.id, provider.tokenFor(task.id), { status: 'failed', error: 'smtp down' }, at(t0, 5));
    // The retry is charged 8 days later: in another weekly window than the first attempt.
    const retried = at(t0, 8 * 86_400);
    await claimAndSpawn(retried);

    // A cancel-like settlement whose first round names the attempt from the stale read (attempt 1).
    const now = at(retried, 2);
    const transition = await withTaskCharge(
      task.id,
      (charge, ref) =>
        transitionTask(
          ref,
          now,
          (current) => endAttempt(current, now, { status: 'cancelled' }, { usedSeconds: 0, credits: 0, retryable: false }),
          (before, after) => settlementItems(before, after, charge, now),
        ),
      readBeforeRetry ?? undefined,
      now,
    );

    expect(transition?.before.attempts).toBe(2);
    const { entries } = await listLedger(`personal:${owner}`, { view: 'charged', limit: 20 });
    const mine = entries.filter((e) => e.task_id === task.id);
    // The second attempt's charge is refunded in full, under its id and in its windows; the first stays charged.
    const charges = mine.filter((e) => e.reason === 'charge').sort((a, b) => a.created_at.localeCompare(b.created_at));
    expect(charges[0]?.weekly_window).not.toBe(charges[1]?.weekly_window);
    expect(mine.filter((e) => e.reason === 'refund').map((e) => [e.id, e.credits, e.weekly_window])).toEqual([[`refund:${task.id}#2`, -1, charges[1]?.weekly_window]]);
    expect(mine.reduce((total, e) => total + e.credits, 0)).toBe(1);
  });
});
