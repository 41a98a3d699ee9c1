import { beforeEach, describe, expect, it } from 'vitest';
import { creditsToUnits } from '../../src/credits/pricing.js';
import type { Task } from '../../src/tasks/task.js';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { monthlyWindow, weeklyWindow } from '../../src/credits/quota-windows.js';
import { taskCreateSchema } from '../../src/tasks/schemas.js';
import { creditChargeItems, CreditLimitReachedError, OVER_QUOTA_BADGE } from '../../src/credits/charges.js';
import { getSpaceLedger, getSpaceQuota, grantOverride, putSpace, type Caller } from '../../src/spaces/spaces.js';
import { cancelTask, completeTask } from '../../src/tasks/finish-task.js';
import { createTask, enqueueTasks, newTask } from '../../src/tasks/create-task.js';
import { updateUserAccount } from '../../src/accounts/limits.js';
import { listLedger, type LedgerEntry } from '../../src/credits/ledger-store.js';
import { getUsageUnits } from '../../src/spaces/space-store.js';
import { getTask } from '../../src/tasks/task-store.js';
import { transact, TransactionConflictError } from '../../src/platform/dynamodb/transact.js';
import { getUser } from '../../src/accounts/user-store.js';
import { takeSpawnMessages, useFreshTable, type TestEnv } from '../support/local-env.js';
import { sweep } from '../../src/scheduling/sweep.js';
import { getConfig } from '../../src/platform/config.js';
import { commandsDuring } from '../support/watch-requests.js';

let env: TestEnv;
let n = 0;
const unique = (name: string) => `${name}-${++n}-${Date.now()}`;
const ADMIN: Caller = { userId: 'admin-1', isAdmin: true };
const as = (userId: string): Caller => ({ userId, isAdmin: false });
const at = (base: Date, seconds: number) => new Date(base.getTime() + seconds * 1000);
const T0 = new Date();

const gmailSend = (spaceId: string, extra: Record<string, unknown> = {}) =>
  taskCreateSchema.parse({
    title: 'Send the weekly update',
    type: 'action',
    integration: 'gmail',
    action: 'send',
    execution_preference: 'remote',
    space_id: spaceId,
    ...extra,
  });

const withReason = (reason: LedgerEntry['reason']) => (entry: Pick<LedgerEntry, 'reason'>) => entry.reason === reason;

async function allLedgerRows(spaceId: string): Promise<LedgerEntry[]> {
  const rows: LedgerEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await listLedger(spaceId, { view: 'charged', limit: 7, cursor });
    rows.push(...page.entries);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return rows;
}

/** Units charged minus refunded in `spaceId`'s ledger, per window: what its counters must say. */
async function ledgerSums(spaceId: string): Promise<Record<string, number>> {
  const sums: Record<string, number> = {};
  for (const row of await allLedgerRows(spaceId)) {
    if (row.reason === 'override') continue;
    for (const window of [row.weekly_window, row.monthly_window]) {
      if (window) sums[window] = (sums[window] ?? 0) + row.units;
    }
  }
  return sums;
}


/** Orchestrator passes (charging credits) until one claims nothing more. */
async function claimUntilQuiet(now: Date, orchestrators = 1): Promise<Task[]> {
  const claimed: Task[] = [];
  for (let pass = 0; pass < 10; pass++) {
    const results = await Promise.all(
      Array.from({ length: orchestrators }, () => claimNextTasks({ now: () => now, chargeItems: creditChargeItems })),
    );
    const round = results.flatMap((result) => result.claimed);
    const conflicts = results.reduce((sum, result) => sum + result.conflicts, 0);
    claimed.push(...round);
    if (round.length === 0 && conflicts === 0) break;
  }
  return claimed;
}

beforeEach(async () => {
  env = await useFreshTable();
});

describe('credit charges against a space hard limit', () => {
  it('lets 16 concurrent charges take exactly the 10 credits there are, with ledger rows summing to the counters', { timeout: 90_000 }, async () => {
    // Prepare: 16 members, one 1-credit task each, in a space with a monthly hard limit of 10.
    const owner = unique('owner');
    const members = Array.from({ length: 16 }, (_, i) => unique(`member${i}`));
    const spaceId = unique('team');
    await putSpace(as(owner), spaceId, { members, quota: { monthly_limit: 10, weekly_limit: 8 } }, T0);
    const tasks = await Promise.all(members.map((member) => createTask(member, gmailSend(spaceId), T0)));
    expect(tasks.every((task) => task.estimated_credits === 1 && task.execution_location === 'remote')).toBe(true);

    // Act: all 16 charges at once, each retrying lost races with fresh reads, as a claim would.
    const outcomes = await Promise.all(
      tasks.map(async (task) => {
        for (let attempt = 0; attempt < 60; attempt++) {
          try {
            await transact(await creditChargeItems(task, at(T0, 1)));
            return 'charged';
          } catch (error) {
            if (error instanceof CreditLimitReachedError) return 'blocked';
            if (!(error instanceof TransactionConflictError)) throw error;
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
          }
        }
        return 'gave-up';
      }),
    );

    // Assess
    expect(outcomes.filter((o) => o === 'charged')).toHaveLength(10);
    expect(outcomes.filter((o) => o === 'blocked')).toHaveLength(6);
    const month = monthlyWindow(at(T0, 1), 1).key;
    const week = weeklyWindow(at(T0, 1), 0).key;
    const counters = await getUsageUnits(spaceId, [week, month]);
    expect(counters[month]).toBe(creditsToUnits(10));
    expect(await ledgerSums(spaceId)).toEqual(counters);
    const quota = await getSpaceQuota(as(owner), spaceId, at(T0, 2));
    expect(quota).toMatchObject({ status: 'BLOCKED', quota_space_id: spaceId, monthly: { used: 10, limit: 10, remaining: 0 } });
  });

  it('claims up to the limit through the orchestrator and badges the rest "Blocked (over quota)"', async () => {
    // Prepare
    const owner = unique('owner');
    const members = Array.from({ length: 6 }, (_, i) => unique(`m${i}`));
    const spaceId = unique('small');
    await putSpace(as(owner), spaceId, { members, quota: { monthly_limit: 4 } }, T0);
    const tasks = await Promise.all(members.map((member) => createTask(member, gmailSend(spaceId), T0)));

    // Act: four orchestrators at once
    const claimed = await claimUntilQuiet(at(T0, 1), 4);

    // Assess
    expect(claimed).toHaveLength(4);
    expect((await getSpaceQuota(as(owner), spaceId, at(T0, 2))).monthly.used).toBe(4);
    const waiting = (await Promise.all(tasks.map((task) => getTask(task.id)))).filter((task) => task?.status === 'pending');
    expect(waiting).toHaveLength(2);
    for (const task of waiting) {
      expect(task?.blocked_reason).toBe(OVER_QUOTA_BADGE);
      // The user is deferred, not spinning in the ready index: looked at again after the re-check, or when woken.
      const user = await getUser(task?.user_id ?? '', at(T0, 2));
      expect(user.next_eligible_at && user.next_eligible_at > at(T0, 1).toISOString()).toBe(true);
    }
    expect(await ledgerSums(spaceId)).toEqual(await getUsageUnits(spaceId, [weeklyWindow(at(T0, 1)).key, monthlyWindow(at(T0, 1)).key]));
  });

  it("holds back, with the reason, a task whose space cannot be charged, without stopping the user's other work", async () => {
    // Prepare: a task naming a space that does not exist (queued around createTask's checks).
    const owner = unique('owner');
    await updateUserAccount(owner, (user) => ({ ...user, plan: 'team' }), 'test');
    const ghost = newTask(owner, gmailSend('ghost-space'), T0, { estimated_credits: 1 });
    await enqueueTasks(owner, [ghost], T0);
    const fine = await createTask(owner, gmailSend(`personal:${owner}`), at(T0, 1));

    // Act
    await claimUntilQuiet(at(T0, 2));

    // Assess
    expect(await getTask(ghost.id)).toMatchObject({ status: 'pending', blocked_reason: 'Space ghost-space does not exist' });
    expect((await getTask(fine.id))?.status).toBe('claimed');
    expect((await getUser(owner, at(T0, 2))).next_eligible_at).not.toBeNull();
  });
});

describe('an estimate that can never fit its space', () => {
  it('is refused at create with 403 CREDIT_LIMIT_REACHED naming the estimate and the limit, and queues nothing', async () => {
    // Prepare: a space whose whole month allows half a credit; gmail send costs 1.
    const owner = unique('owner');
    const spaceId = unique('tiny');
    await putSpace(as(owner), spaceId, { quota: { monthly_limit: 0.5 } }, T0);

    // Act
    const refusal = await createTask(owner, gmailSend(spaceId), T0).catch((error: unknown) => error);

    // Assess
    expect(refusal).toMatchObject({ code: 'CREDIT_LIMIT_REACHED' });
    expect((refusal as Error).message).toContain('1 credit');
    expect((refusal as Error).message).toContain('0.5 credits');
    expect((await getUser(owner, T0)).pending_count).toBe(0);
  });

  it("fails at its next claim once the limit is lowered below it, without holding the user's later tasks in that space", async () => {
    // Prepare: a 3-credit task first in line, a 1-credit task behind it, then the limit drops to 2.
    const owner = unique('owner');
    const spaceId = unique('lowered');
    await putSpace(as(owner), spaceId, { quota: { monthly_limit: 10 } }, T0);
    const big = newTask(owner, gmailSend(spaceId, { priority: 1 }), T0, { estimated_credits: 3 });
    await enqueueTasks(owner, [big], T0);
    const small = await createTask(owner, gmailSend(spaceId), at(T0, 1));
    await putSpace(as(owner), spaceId, { quota: { monthly_limit: 2 } }, at(T0, 2));

    // Act
    await claimUntilQuiet(at(T0, 3));

    // Assess
    const failed = await getTask(big.id);
    expect(failed).toMatchObject({ status: 'failed', blocked_reason: null });
    expect(failed?.failure_reason).toMatch(/3 credits exceeds the whole monthly credit limit of 2 credits/);
    expect((await getTask(small.id))?.status).toBe('claimed');
    const account = await getUser(owner, at(T0, 4));
    expect(account).toMatchObject({ pending_count: 0, running_count: 1 });
    expect((await allLedgerRows(spaceId)).filter(withReason('charge')).map((row) => row.task_id)).toEqual([small.id]);
  });

  it('starts once an active override makes it fit', async () => {
    // Prepare
    const owner = unique('owner');
    const spaceId = unique('boosted');
    await putSpace(as(owner), spaceId, { quota: { monthly_limit: 10 } }, T0);
    const big = newTask(owner, gmailSend(spaceId), T0, { estimated_credits: 3 });
    await enqueueTasks(owner, [big], T0);
    await putSpace(as(owner), spaceId, { quota: { monthly_limit: 2 } }, at(T0, 1));
    await grantOverride(ADMIN, spaceId, { credits: 1, reason: 'big job', expires_at: at(T0, 86_400).toISOString() }, at(T0, 2));

    // Act
    await claimUntilQuiet(at(T0, 3));

    // Assess
    expect((await getTask(big.id))?.status).toBe('claimed');
  });
});

describe('sub-spaces', () => {
  it('charges a sub-space that inherits to its parent, and one with its own quota to itself', async () => {
    // Prepare
    const owner = unique('owner');
    const parent = unique('org');
    const inheriting = `${parent}.design`;
    const own = `${parent}.research`;
    await putSpace(as(owner), parent, { quota: { monthly_limit: 3 } }, T0);
    await putSpace(as(owner), inheriting, { parent_id: parent }, T0);
    await putSpace(as(owner), own, { parent_id: parent, quota: { monthly_limit: 50, inherit: false } }, T0);
    await updateUserAccount(owner, (user) => ({ ...user, plan: 'team' }), 'test');

    // Act
    const a = await createTask(owner, gmailSend(inheriting), T0);
    const b = await createTask(owner, gmailSend(own), T0);
    await claimUntilQuiet(at(T0, 1));

    // Assess
    expect((await getTask(a.id))?.status).toBe('claimed');
    expect((await getTask(b.id))?.status).toBe('claimed');
    const inherited = await getSpaceQuota(as(owner), inheriting, at(T0, 2));
    expect(inherited).toMatchObject({ quota_space_id: parent, inherited: true, monthly: { used: 1, limit: 3, remaining: 2 } });
    const separate = await getSpaceQuota(as(owner), own, at(T0, 2));
    expect(separate).toMatchObject({ quota_space_id: own, inherited: false, monthly: { used: 1, limit: 50 } });
    // The parent's ledger explains its counters; the sub-space lists its own task's row.
    const parentLedger = await getSpaceLedger(as(owner), parent, { limit: 50 }, at(T0, 2));
    expect(parentLedger.entries.map((e) => e.task_id)).toEqual([a.id]);
    const childLedger = await getSpaceLedger(as(owner), inheriting, { limit: 50 }, at(T0, 2));
    expect(childLedger.entries).toEqual([expect.objectContaining({ task_id: a.id, space_id: parent, task_space_id: inheriting })]);
  });

  it('refuses a cycle, an unknown parent and a space the user does not belong to', async () => {
    const owner = unique('owner');
    const stranger = unique('stranger');
    const root = unique('root');
    await putSpace(as(owner), root, {}, T0);
    await putSpace(as(owner), `${root}.a`, { parent_id: root }, T0);
    await expect(putSpace(as(owner), root, { parent_id: `${root}.a` }, T0)).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    await expect(putSpace(as(owner), `${root}.b`, { parent_id: 'no-such-space' }, T0)).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    await expect(putSpace(as(stranger), `${root}.c`, { parent_id: root }, T0)).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    await expect(putSpace(as(stranger), root, { quota: { monthly_limit: 1 } }, T0)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(createTask(stranger, gmailSend(root), T0)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(getSpaceQuota(as(stranger), root, T0)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('admin overrides', () => {
  it('lets work blocked at the hard limit proceed at once, and logs the override with the admin as actor', async () => {
    // Prepare: the limit allows one task; the second waits.
    const owner = unique('owner');
    const spaceId = unique('tight');
    await putSpace(as(owner), spaceId, { quota: { monthly_limit: 1 } }, T0);
    await updateUserAccount(owner, (user) => ({ ...user, plan: 'team' }), 'test');
    const first = await createTask(owner, gmailSend(spaceId), T0);
    await claimUntilQuiet(at(T0, 1));
    const second = await createTask(owner, gmailSend(spaceId), at(T0, 2));
    expect(second.blocked_reason).toBe(OVER_QUOTA_BADGE);
    await claimUntilQuiet(at(T0, 3));
    expect((await getTask(first.id))?.status).toBe('claimed');
    expect((await getTask(second.id))?.status).toBe('pending');

    // Act
    const override = await grantOverride(ADMIN, spaceId, { credits: 1, reason: 'launch day', expires_at: at(T0, 86_400).toISOString() }, at(T0, 4));
    await claimUntilQuiet(at(T0, 5));

    // Assess
    const started = await getTask(second.id);
    expect(started).toMatchObject({ status: 'claimed', blocked_reason: null });
    const ledger = await getSpaceLedger(as(owner), spaceId, { limit: 50 }, at(T0, 6));
    expect(ledger.entries.find(withReason('override'))).toMatchObject({ id: override.id, credits: 1, actor: ADMIN.userId, note: 'launch day' });
    expect(ledger.entries.filter(withReason('charge')).map((e) => e.task_id).sort()).toEqual([first.id, second.id].sort());
    const quota = await getSpaceQuota(as(owner), spaceId, at(T0, 6));
    expect(quota).toMatchObject({ status: 'BLOCKED', monthly: { used: 2, limit: 1, override_credits: 1, remaining: 0 } });
    // Once the override expires, the cap is the limit again: nothing more fits.
    const third = await createTask(owner, gmailSend(spaceId), at(T0, 86_401));
    expect(third.blocked_reason).toBe(OVER_QUOTA_BADGE);
  });

  it('is refused on a space without a monthly limit, and for an expiry in the past', async () => {
    const owner = unique('owner');
    const spaceId = unique('free');
    await putSpace(as(owner), spaceId, {}, T0);
    const body = { credits: 5, reason: 'x', expires_at: at(T0, 3600).toISOString() };
    await expect(grantOverride(ADMIN, spaceId, body, T0)).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    await putSpace(as(owner), spaceId, { quota: { monthly_limit: 5 } }, T0);
    await expect(grantOverride(ADMIN, spaceId, { ...body, expires_at: at(T0, -1).toISOString() }, T0)).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
    });
  });
});

describe('charges read with the claim', () => {
  it('charges a personal space\'s task with no read of its own: its charge row comes with the account and the queue', async () => {
    const owner = unique('owner');
    const task = await createTask(owner, gmailSend(`personal:${owner}`), T0);

    const commands = await commandsDuring(() => claimNextTasks({ now: () => at(T0, 1), chargeItems: creditChargeItems }));

    expect((await getTask(task.id))?.status).toBe('claimed');
    expect(commands.filter((command) => command === 'GetItemCommand')).toEqual([]);
    // One BatchGetItem: the queue's first page, the account and the charge row, together.
    expect(commands.filter((command) => command === 'BatchGetItemCommand')).toHaveLength(1);
    expect((await listLedger(`personal:${owner}`, { view: 'charged', limit: 10 })).entries.map((entry) => [entry.reason, entry.credits])).toEqual([['charge', 1]]);
  });

  it('creates a task in a space with no credit limit without reading its usage counters; a limited space reads them', async () => {
    const owner = unique('owner');
    const unlimited = await commandsDuring(() => createTask(owner, gmailSend(`personal:${owner}`), T0));
    expect(unlimited.filter((command) => command === 'BatchGetItemCommand')).toEqual([]);

    const spaceId = unique('limited');
    await putSpace(as(owner), spaceId, { quota: { monthly_limit: 1 } }, T0);
    await createTask(owner, gmailSend(spaceId), T0);
    await claimUntilQuiet(at(T0, 1));
    // The counters now hold the month's whole credit: the next create must see it (and is badged over quota).
    const limited = await commandsDuring(() => createTask(owner, gmailSend(spaceId), at(T0, 2)));
    expect(limited.filter((command) => command === 'BatchGetItemCommand')).toHaveLength(1);
    expect(await claimUntilQuiet(at(T0, 3))).toEqual([]);
  });

  it('does not charge again a task the stale-claim sweep put back (the same attempt, already charged)', async () => {
    const owner = unique('owner');
    const spaceId = unique('limited');
    await putSpace(as(owner), spaceId, { quota: { monthly_limit: 10 } }, T0);
    const task = await createTask(owner, gmailSend(spaceId), T0);
    expect((await claimUntilQuiet(at(T0, 1))).map((claimed) => claimed.id)).toEqual([task.id]);
    // No sandbox started: past the threshold the sweep puts the claim back, charge kept.
    const swept = await sweep(at(T0, getConfig().staleClaimingThresholdSeconds + 2));
    expect(swept.requeued).toEqual([task.id]);

    expect((await claimUntilQuiet(at(T0, getConfig().staleClaimingThresholdSeconds + 3))).map((claimed) => claimed.id)).toEqual([task.id]);

    const rows = await allLedgerRows(spaceId);
    expect(rows.map((row) => [row.reason, row.credits])).toEqual([['charge', 1]]);
    expect((await getSpaceQuota(as(owner), spaceId, at(T0, 120))).monthly.used).toBe(1);
  });
});

describe('refunds', () => {
  it('refunds the unused part of an LLM charge from the reported tokens and sets actual_credits', async () => {
    // Prepare: 5000 estimated tokens at 0.01 per 1000 = 0.05 credits up front.
    const owner = unique('owner');
    const spaceId = unique('llm');
    await putSpace(as(owner), spaceId, { quota: { monthly_limit: 10 } }, T0);
    const task = await createTask(
      owner,
      taskCreateSchema.parse({ title: 'Chat about the plan', type: 'action', integration: 'llm', action: 'chat', estimated_tokens: 5000, space_id: spaceId }),
      T0,
    );
    expect(task).toMatchObject({ execution_location: 'remote', estimated_credits: 0.05, model: 'phi3:3.8b' });
    await claimUntilQuiet(at(T0, 1));
    const [message] = await takeSpawnMessages(env.queues.spawnQueueUrl);

    // Act
    await completeTask(task.id, message?.callback_token ?? '', { status: 'completed', tokens_used: 1000 }, at(T0, 30));
    await completeTask(task.id, message?.callback_token ?? '', { status: 'completed', tokens_used: 1 }, at(T0, 31));

    // Assess
    expect((await getTask(task.id))?.actual_credits).toBe(0.01);
    const quota = await getSpaceQuota(as(owner), spaceId, at(T0, 32));
    expect(quota.monthly.used).toBe(0.01);
    const rows = await allLedgerRows(spaceId);
    expect(rows.map((row) => [row.reason, row.credits]).sort()).toEqual([
      ['charge', 0.05],
      ['refund', -0.04],
    ]);
    expect(await ledgerSums(spaceId)).toEqual(await getUsageUnits(spaceId, [weeklyWindow(at(T0, 1)).key, monthlyWindow(at(T0, 1)).key]));
  });

  it('refunds in full a task cancelled before it started', async () => {
    const owner = unique('owner');
    const spaceId = unique('cancel');
    await putSpace(as(owner), spaceId, { quota: { monthly_limit: 10 } }, T0);
    const task = await createTask(owner, gmailSend(spaceId), T0);
    await claimUntilQuiet(at(T0, 1));

    await cancelTask(owner, task.id, at(T0, 2));

    expect((await getTask(task.id))?.actual_credits).toBe(0);
    expect((await getSpaceQuota(as(owner), spaceId, at(T0, 3))).monthly.used).toBe(0);
    expect((await allLedgerRows(spaceId)).map((row) => row.reason).sort()).toEqual(['charge', 'refund']);
  });
});
