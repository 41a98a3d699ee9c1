import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { setSandboxProvider } from '../../src/sandbox/current.js';
import { createTask } from '../../src/tasks/create-task.js';
import { completeTask, failActiveTask } from '../../src/tasks/finish-task.js';
import { taskCreateSchema, taskResultSchema } from '../../src/tasks/schemas.js';
import { putSettings, getSettingsView } from '../../src/notifications/settings.js';
import { notificationSettingsPutSchema } from '../../src/notifications/schemas.js';
import { listMyDeliveries } from '../../src/notifications/deliveries.js';
import { runDueDigests } from '../../src/notifications/digest-run.js';
import { postWebhook } from '../../src/notifications/webhook-sender.js';
import { verifySignature } from '../../src/notifications/signature.js';
import { DomainError } from '../../src/platform/errors.js';
import { putSpace } from '../../src/spaces/spaces.js';
import { creditChargeItems } from '../../src/credits/charges.js';
import { updateUserAccount } from '../../src/accounts/limits.js';
import { RecordingSandboxProvider } from '../support/recording-provider.js';
import { eventually, takeSpawnMessages, useFreshTable, type TestEnv } from '../support/local-env.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';
import { runNotifier as runNotifierOn } from '../support/sqs-delivery.js';

let env: TestEnv;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;

const runNotifier = () => runNotifierOn(env.queues.notifyQueueUrl);

/** Queues a task and ends it through the sandbox's own completion callback. */
async function finishTask(userId: string, title: string, result: { status: 'completed' | 'failed'; summary?: string; error?: string }) {
  const task = await createTask(userId, taskCreateSchema.parse({ title }));
  await claimNextTasks();
  const message = (await takeSpawnMessages(env.queues.spawnQueueUrl)).find((m) => m.task_id === task.id);
  if (!message) throw new Error('no spawn message');
  await completeTask(task.id, message.callback_token, taskResultSchema.parse(result));
  return task;
}

const settings = (body: unknown) => notificationSettingsPutSchema.parse(body);

beforeAll(async () => {
  env = await useFreshTable({ NOTIFICATIONS_ALLOW_LOOPBACK: '1', NOTIFICATIONS_RETRY_BASE_SECONDS: '1', NOTIFICATIONS_EMAIL_FROM: 'night@example.com' });
  setSandboxProvider(new RecordingSandboxProvider());
  receiver = await startWebhookReceiver((path, count) => {
    if (path === '/flaky' && count === 1) return { status: 500 };
    if (path === '/elsewhere') return { status: 302, location: `http://localhost:${receiver.port}/ok` };
    if (path === '/moved') return { status: 307, location: '/ok-after-move' };
    if (path === '/gone') return { status: 410 };
    if (path === '/slow') return { status: 200, hang: true };
    return { status: 200 };
  });
});

afterAll(async () => {
  await receiver.stop();
});

describe('notifications through the queue to a receiver on 127.0.0.1', () => {
  it('delivers signed task.completed and task.failed events that verify with the secret shown once', async () => {
    const created = await putSettings('n-sign', settings({ webhooks: [{ url: `${receiver.url}/ok?u=sign`, events: ['task.completed', 'task.failed'] }] }));
    expect(created.signing_secret).toMatch(/^whsec_/);
    const secret = created.signing_secret ?? '';
    // Shown once: later reads mask it.
    const shown = await getSettingsView('n-sign');
    expect(shown.signing_secret).toBeNull();
    expect(shown.secret_hint).toBe(`${secret.slice(0, 6)}…${secret.slice(-4)}`);
    expect(shown.webhooks[0]?.url).not.toContain('u=sign');

    const ok = await finishTask('n-sign', 'works', { status: 'completed', summary: 'All done' });
    const bad = await finishTask('n-sign', 'breaks', { status: 'failed', error: 'tests failed' });
    await eventually(async () => (await runNotifier(), receiver.received.filter((r) => r.path === '/ok?u=sign').length === 2), 15_000, 'two deliveries');
    const hooks = receiver.received.filter((r) => r.path === '/ok?u=sign');
    const now = Math.floor(Date.now() / 1000);
    for (const hook of hooks) {
      expect(verifySignature(secret, String(hook.headers['nightshift-signature']), hook.body, now)).toBe(true);
      expect(verifySignature('whsec_wrong', String(hook.headers['nightshift-signature']), hook.body, now)).toBe(false);
      expect(JSON.parse(hook.body).id).toBe(hook.headers['nightshift-event-id']);
    }
    const bodies = hooks.map((hook) => JSON.parse(hook.body) as { type: string; data: { task: { id: string; summary: string | null; failure_reason: string | null } } });
    expect(bodies.find((b) => b.type === 'task.completed')?.data.task).toMatchObject({ id: ok.id, summary: 'All done' });
    expect(bodies.find((b) => b.type === 'task.failed')?.data.task).toMatchObject({ id: bad.id, failure_reason: 'tests failed' });
  });

  it('redelivers after a 500, with the same event id, and the deliveries listing shows both attempts', async () => {
    await putSettings('n-flaky', settings({ webhooks: [{ url: `${receiver.url}/flaky`, events: ['task.completed'] }] }));
    await finishTask('n-flaky', 'once more', { status: 'completed' });
    await eventually(async () => (await runNotifier(), receiver.received.some((r) => r.path === '/flaky')), 10_000, 'first attempt');
    const retrying = (await listMyDeliveries('n-flaky', 10)).deliveries[0];
    expect(retrying).toMatchObject({ status: 'retrying', attempts: 1, last_status_code: 500, last_error: 'the receiver answered 500' });
    expect(Date.parse(retrying?.next_attempt_at ?? '')).toBeGreaterThan(Date.parse(retrying?.last_attempt_at ?? ''));
    await eventually(async () => (await runNotifier(), (await listMyDeliveries('n-flaky', 10)).deliveries[0]?.status === 'delivered'), 15_000, 'the retry');
    const hooks = receiver.received.filter((r) => r.path === '/flaky');
    expect(hooks).toHaveLength(2);
    expect(hooks[0]?.headers['nightshift-event-id']).toBe(hooks[1]?.headers['nightshift-event-id']);
    expect((await listMyDeliveries('n-flaky', 10)).deliveries[0]).toMatchObject({ status: 'delivered', attempts: 2, last_status_code: 200, next_attempt_at: null });
  });

  it('does not follow a redirect to another host, but follows one on the same host', async () => {
    await putSettings('n-redirect', settings({ webhooks: [{ url: `${receiver.url}/elsewhere`, events: ['task.completed'] }, { url: `${receiver.url}/moved`, events: ['task.completed'] }] }));
    const before = receiver.received.filter((r) => r.path === '/ok').length;
    await finishTask('n-redirect', 'redirected', { status: 'completed' });
    await eventually(async () => (await runNotifier(), (await listMyDeliveries('n-redirect', 10)).deliveries.every((d) => d.status === 'delivered' || d.status === 'failed')), 10_000, 'both settled');
    const deliveries = (await listMyDeliveries('n-redirect', 10)).deliveries;
    expect(deliveries.find((d) => d.target.endsWith('/…here'))).toMatchObject({ status: 'failed', attempts: 1 });
    expect(deliveries.find((d) => d.status === 'failed')?.last_error).toMatch(/redirect to another host \(localhost\)/);
    expect(deliveries.find((d) => d.status === 'delivered')).toMatchObject({ last_status_code: 200 });
    expect(receiver.received.filter((r) => r.path === '/ok').length).toBe(before);
    expect(receiver.received.some((r) => r.path === '/ok-after-move')).toBe(true);
  });

  it('gives up at once on 410 Gone instead of retrying for a day', async () => {
    await putSettings('n-gone', settings({ webhooks: [{ url: `${receiver.url}/gone`, events: ['task.failed'] }] }));
    const task = await createTask('n-gone', taskCreateSchema.parse({ title: 'lost' }));
    await claimNextTasks();
    await failActiveTask(task.id, 'Timeout', new Date());
    await eventually(async () => (await runNotifier(), (await listMyDeliveries('n-gone', 10)).deliveries[0]?.status === 'failed'), 10_000, 'failed');
    expect((await listMyDeliveries('n-gone', 10)).deliveries[0]).toMatchObject({ event: 'task.failed', attempts: 1, last_status_code: 410, next_attempt_at: null });
  });

  it('times a receiver out that never answers', async () => {
    const outcome = await postWebhook(`${receiver.url}/slow`, '{}', {}, true, 300);
    expect(outcome).toEqual({ kind: 'unreachable', error: 'no answer within 0 s' });
  });

  it('refuses private addresses: a stored URL at PUT, a name that resolves to loopback at delivery', async () => {
    await expect(putSettings('n-private', settings({ webhooks: [{ url: 'http://169.254.169.254/latest', events: ['digest'] }], digest_at: '07:00' }))).rejects.toThrow(/not allowed: link-local/);
    await expect(putSettings('n-private', settings({ webhooks: [{ url: 'http://[::1]:80/', events: ['task.failed'] }] }))).rejects.toBeInstanceOf(DomainError);
    expect((await getSettingsView('n-private')).webhooks).toEqual([]);
    // With loopback off (as in AWS), even 127.0.0.1 and names resolving to it get nothing.
    expect(await postWebhook(`${receiver.url}/ok`, '{}', {}, false)).toMatchObject({ kind: 'refused' });
    const before = receiver.received.length;
    expect(await postWebhook(`http://localhost:${receiver.port}/ok`, '{}', {}, false)).toEqual({ kind: 'refused', error: expect.stringMatching(/localhost resolves to (127\.0\.0\.1|::1) \(loopback\)/) });
    expect(receiver.received.length).toBe(before);
  });

  it('sends the digest at the chosen time once, and nothing for a night with nothing to say', async () => {
    const view = await putSettings('n-digest', settings({ webhooks: [{ url: `${receiver.url}/digest`, events: ['digest'] }], digest_at: '07:00', timezone: 'Europe/Berlin' }));
    await putSettings('n-quiet', settings({ webhooks: [{ url: `${receiver.url}/quiet`, events: ['digest'] }], digest_at: '07:00', timezone: 'Europe/Berlin' }));
    await finishTask('n-digest', 'night work', { status: 'completed', summary: 'Refactored' });
    await finishTask('n-digest', 'night failure', { status: 'failed', error: 'no tests' });
    const due = new Date(Date.parse(view.next_digest_at ?? '') + 1000);
    expect(await runDueDigests(new Date(Date.parse(view.next_digest_at ?? '') - 60_000))).toMatchObject({ sent: 0 });
    const first = await runDueDigests(due);
    expect(first).toMatchObject({ sent: 1, empty: 1 });
    expect(await runDueDigests(due)).toMatchObject({ due: 0, sent: 0 });
    await eventually(async () => (await runNotifier(), receiver.received.some((r) => r.path === '/digest')), 10_000, 'digest');
    const digest = JSON.parse(receiver.received.find((r) => r.path === '/digest')?.body ?? '{}') as { type: string; data: { text: string; totals: { completed: number; failed: number } } };
    expect(digest.type).toBe('digest');
    expect(digest.data.totals).toMatchObject({ completed: 1, failed: 1 });
    expect(digest.data.text).toContain('night work: completed');
    expect(digest.data.text).toContain('why: no tests');
    expect(receiver.received.some((r) => r.path === '/quiet')).toBe(false);
    // The next one is due a day later.
    expect(Date.parse((await getSettingsView('n-digest')).next_digest_at ?? '')).toBeGreaterThan(due.getTime() + 23 * 3600_000);
  });

  it('e-mails through SES (mocked: a third party) and retries when SES refuses', async () => {
    const ses = mockClient(SESv2Client);
    try {
      ses.on(SendEmailCommand).rejectsOnce(Object.assign(new Error('Throttled'), { name: 'TooManyRequestsException' })).resolves({ MessageId: 'm-1' });
      await putSettings('n-mail', settings({ email: { address: 'owl@example.com', events: ['task.completed'] } }));
      await finishTask('n-mail', 'mailed', { status: 'completed', summary: 'Sent by mail' });
      await eventually(async () => (await runNotifier(), (await listMyDeliveries('n-mail', 10)).deliveries[0]?.status === 'delivered'), 15_000, 'the mail');
      expect((await listMyDeliveries('n-mail', 10)).deliveries[0]).toMatchObject({ channel: 'email', target: 'owl@example.com', attempts: 2 });
      const input = ses.commandCalls(SendEmailCommand).at(-1)?.args[0].input;
      expect(input).toMatchObject({ FromEmailAddress: 'night@example.com', Destination: { ToAddresses: ['owl@example.com'] }, Content: { Simple: { Subject: { Data: 'Task "mailed" completed' } } } });
    } finally {
      ses.restore();
    }
  });

  it('tells quota.warning at 80 % of the weekly soft limit and quota.blocked at the monthly hard limit, once per window', async () => {
    const owner = `n-quota-${Date.now()}`;
    const spaceId = `${owner}-space`;
    await updateUserAccount(owner, (user) => ({ ...user, plan: 'team' }), 'test');
    await putSpace({ userId: owner, isAdmin: false }, spaceId, { quota: { monthly_limit: 3, weekly_limit: 2.5 } }, new Date());
    await putSettings(owner, settings({ webhooks: [{ url: `${receiver.url}/quota`, events: ['quota.warning', 'quota.blocked'] }] }));
    const send = taskCreateSchema.parse({ title: 'mail', type: 'action', integration: 'gmail', action: 'send', execution_preference: 'remote', space_id: spaceId });
    for (let i = 0; i < 5; i += 1) await createTask(owner, send);
    for (let i = 0; i < 4; i += 1) await claimNextTasks({ chargeItems: creditChargeItems });
    await takeSpawnMessages(env.queues.spawnQueueUrl);
    await eventually(async () => (await runNotifier(), receiver.received.filter((r) => r.path === '/quota').length >= 2), 10_000, 'two quota events');
    await claimNextTasks({ chargeItems: creditChargeItems });
    await runNotifier();
    const events = receiver.received.filter((r) => r.path === '/quota').map((r) => JSON.parse(r.body) as { type: string; data: { space_id: string; message: string } });
    expect(events.map((e) => e.type).sort()).toEqual(['quota.blocked', 'quota.warning']);
    expect(events.find((e) => e.type === 'quota.warning')?.data).toMatchObject({ space_id: spaceId, message: expect.stringMatching(/Weekly soft limit/) });
    expect(events.find((e) => e.type === 'quota.blocked')?.data.message).toMatch(/monthly/i);
  });
});
