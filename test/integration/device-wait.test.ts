import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { sweep } from '../../src/scheduling/sweep.js';
import { taskCreateSchema, type TaskCreate } from '../../src/tasks/schemas.js';
import { creditChargeItems } from '../../src/credits/charges.js';
import { registerExecutor } from '../../src/executors/executors.js';
import { createTask } from '../../src/tasks/create-task.js';
import { getChargeEntry } from '../../src/credits/ledger-store.js';
import { getTask } from '../../src/tasks/task-store.js';
import { getUser } from '../../src/accounts/user-store.js';
import { putSettings } from '../../src/notifications/settings.js';
import { notificationSettingsPutSchema } from '../../src/notifications/schemas.js';
import { eventually, useFreshTable, type TestEnv } from '../support/local-env.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';
import { runNotifier } from '../support/sqs-delivery.js';

let n = 0;
const unique = (name: string) => `${name}-${++n}-${Date.now()}`;
const DEVICE = 'tauri:macbook-pro';
const T0 = new Date();
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

const gmailSend = (extra: Partial<TaskCreate> = {}): TaskCreate =>
  taskCreateSchema.parse({ title: 'Send the weekly update', type: 'action', integration: 'gmail', action: 'send', ...extra });

const register = (userId: string, now: Date) =>
  registerExecutor(userId, { executor_id: DEVICE, capabilities: ['gmail.send'], models: [], max_concurrent: 1 }, now);

let env: TestEnv;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
});

afterAll(async () => {
  await receiver.stop();
});

beforeEach(async () => {
  env = await useFreshTable({ LOCAL_LEASE_TIMEOUT: '600', LOCAL_MAX_WAIT: '86400', NOTIFICATIONS_ALLOW_LOOPBACK: '1' });
});

describe('device work nobody leases', () => {
  it('goes to the cloud after LOCAL_LEASE_TIMEOUT with the reason recorded, and is then claimed and charged as cloud work', async () => {
    // Prepare: `auto` picks the online device, which then never leases.
    const user = unique('owner');
    await register(user, T0);
    const task = await createTask(user, gmailSend({ execution_preference: 'auto' }), T0);
    expect(task).toMatchObject({ execution_location: 'local', executor_id: DEVICE, estimated_credits: 0 });

    // Act
    const early = await sweep(at(599));
    const due = await sweep(at(601));
    const pass = await claimNextTasks({ now: () => at(602), chargeItems: creditChargeItems });

    // Assess
    expect(early.rerouted).toEqual([]);
    expect(due.rerouted).toEqual([task.id]);
    expect(pass.claimed.map((claimed) => claimed.id)).toEqual([task.id]);
    const stored = await getTask(task.id);
    expect(stored).toMatchObject({ status: 'claimed', execution_location: 'remote', executor_id: null, estimated_credits: 1 });
    expect(stored?.routing_note).toContain('LOCAL_LEASE_TIMEOUT');
    expect(await getChargeEntry(task.id)).toMatchObject({ credits: 1, reason: 'charge' });
  });

  it('fails `local` work with NO_LOCAL_EXECUTOR after LOCAL_MAX_WAIT, and not before', async () => {
    // Prepare
    const user = unique('owner');
    await register(user, T0);
    const task = await createTask(user, gmailSend({ execution_preference: 'local' }), T0);

    // Act
    const early = await sweep(at(86_399));
    const stillWaiting = await getTask(task.id);
    const due = await sweep(at(86_401));

    // Assess
    expect(early.failedNoDevice).toEqual([]);
    expect(stillWaiting?.status).toBe('pending');
    expect(due.failedNoDevice).toEqual([task.id]);
    const failed = await getTask(task.id);
    expect(failed).toMatchObject({ status: 'failed', actual_credits: 0 });
    expect(failed?.failure_reason).toMatch(/^NO_LOCAL_EXECUTOR/);
    expect((await getUser(user, at(86_402))).pending_count).toBe(0);
  });

  it('costs no writes per orchestrator pass while a user waits only for a device', async () => {
    // Prepare
    const user = unique('owner');
    await register(user, T0);
    await createTask(user, gmailSend({ execution_preference: 'local' }), T0);
    const before = await getUser(user, at(1));

    // Act: passes over several minutes, as the schedule would run them.
    for (const seconds of [1, 61, 122, 183, 244]) await claimNextTasks({ now: () => at(seconds), chargeItems: creditChargeItems });

    // Assess: the account was never rewritten.
    expect((await getUser(user, at(245))).version).toBe(before.version);
  });

  it('ends a task failed for want of a device like any failed task: the owner\'s webhook receives task.failed', async () => {
    // Prepare: the owner listens for failures on a receiver on 127.0.0.1.
    const user = unique('owner');
    const path = `/device-failed?u=${user}`;
    await putSettings(user, notificationSettingsPutSchema.parse({ webhooks: [{ url: `${receiver.url}${path}`, events: ['task.failed'] }] }));
    await register(user, T0);
    const task = await createTask(user, gmailSend({ execution_preference: 'local' }), T0);

    // Act: the wait runs out, then the notifier delivers what was queued.
    const due = await sweep(at(86_401));
    const hook = await eventually(async () => (await runNotifier(env.queues.notifyQueueUrl), receiver.received.find((r) => r.path === path)), 15_000, 'the task.failed delivery');

    // Assess
    expect(due.failedNoDevice).toEqual([task.id]);
    const body = JSON.parse(hook.body) as { type: string; data: { task: { id: string; status: string; failure_reason: string | null } } };
    expect(body.type).toBe('task.failed');
    expect(body.data.task).toMatchObject({ id: task.id, status: 'failed' });
    expect(body.data.task.failure_reason).toMatch(/^NO_LOCAL_EXECUTOR/);
  });
});
