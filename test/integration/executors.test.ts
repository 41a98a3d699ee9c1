import { beforeEach, describe, expect, it } from 'vitest';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { personalSpaceId } from '../../src/credits/quota-windows.js';
import { taskCreateSchema, type TaskCreate } from '../../src/tasks/schemas.js';
import { creditChargeItems } from '../../src/credits/charges.js';
import { leaseTask, listExecutorViews, registerExecutor } from '../../src/executors/executors.js';
import { getSpaceLedger } from '../../src/spaces/spaces.js';
import { cancelTask, completeTask } from '../../src/tasks/finish-task.js';
import { createTask } from '../../src/tasks/create-task.js';
import { getExecutor } from '../../src/executors/executor-store.js';
import { getTask } from '../../src/tasks/task-store.js';
import { getUser } from '../../src/accounts/user-store.js';
import { useFreshTable } from '../support/local-env.js';

let n = 0;
const unique = (name: string) => `${name}-${++n}-${Date.now()}`;
const DEVICE = 'tauri:macbook-pro';

const gmailSend = (extra: Partial<TaskCreate> = {}): TaskCreate =>
  taskCreateSchema.parse({ title: 'Send the weekly update', type: 'action', integration: 'gmail', action: 'send', ...extra });

const register = (userId: string, now = new Date(), extra: Record<string, unknown> = {}) =>
  registerExecutor(userId, { executor_id: DEVICE, capabilities: ['gmail.send', 'llm.chat'], models: ['phi3:3.8b'], max_concurrent: 1, ...extra }, now);

beforeEach(async () => {
  await useFreshTable();
});

describe('device executors', () => {
  it('registers a device and lists it online until its heartbeat is older than 60 s', async () => {
    // Prepare
    const user = unique('owner');
    const t0 = new Date();

    // Act
    await register(user, t0);

    // Assess
    expect(await listExecutorViews(user, new Date(t0.getTime() + 60_000))).toEqual([
      expect.objectContaining({ executor_id: DEVICE, capabilities: ['gmail.send', 'llm.chat'], online: true, active_count: 0, max_concurrent: 1 }),
    ]);
    expect((await listExecutorViews(user, new Date(t0.getTime() + 61_000)))[0]?.online).toBe(false);
    expect(await listExecutorViews(unique('someone-else'))).toEqual([]);
  });

  it('refuses local work with no capable online device (409 NO_LOCAL_EXECUTOR)', async () => {
    const user = unique('owner');
    await expect(createTask(user, gmailSend({ execution_preference: 'local' }))).rejects.toMatchObject({ code: 'NO_LOCAL_EXECUTOR' });
    await register(user, new Date(Date.now() - 120_000));
    await expect(createTask(user, gmailSend({ execution_preference: 'local' }))).rejects.toMatchObject({ code: 'NO_LOCAL_EXECUTOR' });
  });

  it('leases a task routed to the device with a callback token, answers nothing when none is left, and frees the slot on completion', async () => {
    // Prepare: a local task, which the orchestrator must leave alone.
    const user = unique('owner');
    await register(user);
    const task = await createTask(user, gmailSend({ execution_preference: 'local' }));
    expect(task).toMatchObject({ execution_location: 'local', executor_id: DEVICE, estimated_credits: 0, status: 'pending' });
    const pass = await claimNextTasks({ chargeItems: creditChargeItems });
    expect(pass.claimed).toEqual([]);

    // Act
    const lease = await leaseTask(user, DEVICE, { waitMs: 0 });
    const none = await leaseTask(user, DEVICE, { waitMs: 300 });

    // Assess
    expect(lease?.task).toMatchObject({ id: task.id, status: 'running', executor_id: DEVICE });
    expect(lease?.callback_token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(none).toBeNull();
    expect((await getExecutor(user, DEVICE))?.active_count).toBe(1);
    expect((await getUser(user, new Date())).running_count).toBe(1);
    // Local work is free, and still on the ledger, naming the device.
    const ledger = await getSpaceLedger({ userId: user, isAdmin: false }, personalSpaceId(user), { limit: 10 });
    expect(ledger.entries).toEqual([expect.objectContaining({ task_id: task.id, reason: 'charge', credits: 0, executor_id: DEVICE })]);

    // Act: the device reports through the same completion endpoint
    await completeTask(task.id, lease?.callback_token ?? '', { status: 'completed', summary: 'sent' });

    // Assess
    expect(await getTask(task.id)).toMatchObject({ status: 'completed', result_summary: 'sent', actual_credits: 0 });
    expect((await getExecutor(user, DEVICE))?.active_count).toBe(0);
    expect((await getUser(user, new Date())).running_count).toBe(0);
  });

  it('long-polls until work arrives, one task per free device slot', async () => {
    // Prepare
    const user = unique('owner');
    await register(user);
    const waiting = leaseTask(user, DEVICE, { waitMs: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 600));
    const first = await createTask(user, gmailSend({ execution_preference: 'cost_optimized' }));
    await createTask(user, gmailSend({ execution_preference: 'local' }));

    // Act
    const lease = await waiting;
    const second = await leaseTask(user, DEVICE, { waitMs: 300 });

    // Assess: the device has one slot, so the second task waits for it.
    expect(lease?.task.id).toBe(first.id);
    expect(second).toBeNull();
    await cancelTask(user, first.id);
    expect((await getExecutor(user, DEVICE))?.active_count).toBe(0);
    expect((await leaseTask(user, DEVICE, { waitMs: 0 }))?.task.title).toBe('Send the weekly update');
  });

  it("does not lease another user's device", async () => {
    const owner = unique('owner');
    await register(owner);
    await expect(leaseTask(unique('intruder'), DEVICE, { waitMs: 0 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
