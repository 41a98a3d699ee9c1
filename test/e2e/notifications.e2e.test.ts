import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../../src/notifications/signature.js';
import { eventually, startTestStack } from '../support/local-env.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';

type Stack = Awaited<ReturnType<typeof startTestStack>>;
type Json = Record<string, any>;
let stack: Stack;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;

async function call(method: string, path: string, token?: string, body?: unknown) {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Json) : null };
}

// A task whose title says "fail" exits 3 (failed); any other completes.
const AGENT = `sh -c 'case "$NIGHTSHIFT_TASK_TITLE" in *fail*) echo "could not fix it"; exit 3;; *) echo "fixed it";; esac'`;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  stack = await startTestStack({ SANDBOX_COMMAND: AGENT });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  await receiver?.stop();
});

const hooks = (path: string) => receiver.received.filter((r) => r.path === path).map((r) => ({ ...r, json: JSON.parse(r.body) as Json }));

describe('notifications over HTTP on the local stack', () => {
  it('refuses bad settings with 4xx and changes nothing', async () => {
    const token = await stack.token('notify-bad');
    expect((await call('GET', '/api/v1/users/me/notifications')).status).toBe(401);
    const cases: [unknown, RegExp][] = [
      [{ webhooks: [{ url: 'http://10.1.2.3/hook', events: ['task.failed'] }] }, /private/],
      [{ webhooks: [{ url: 'http://2852039166/latest', events: ['task.failed'] }] }, /link-local/],
      [{ webhooks: [{ url: `${receiver.url}/x`, events: ['task.started'] }] }, /events/],
      [{ webhooks: [{ url: `${receiver.url}/x`, events: ['digest'] }], digest_at: '07:00', timezone: 'Mars/Base' }, /timezone/],
      [{ webhooks: [{ url: `${receiver.url}/x`, events: ['digest'] }] }, /digest_at is required/],
      [{ email: { address: 'me@example.com', events: ['digest'] }, digest_at: '07:00' }, /sender/],
    ];
    for (const [body, message] of cases) {
      const answer = await call('PUT', '/api/v1/users/me/notifications', token, body);
      expect(answer.status).toBe(400);
      expect(answer.body?.error.code).toBe('VALIDATION_ERROR');
      expect(answer.body?.error.message).toMatch(message);
    }
    expect((await call('GET', '/api/v1/users/me/notifications', token)).body).toMatchObject({ webhooks: [], secret_hint: null, updated_at: null });
  });

  it('a batch where one task fails: signed task.completed, task.failed and batch.run_finished reach the receiver, then the digest', async () => {
    const token = await stack.token('notify-owl');
    const tokyo = (instant: Date) => new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Tokyo', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(instant);
    // A digest in two hours for now; moved to the next minute once the night's work is done.
    const later = new Date(Math.ceil((Date.now() + 2 * 3600_000) / 60_000) * 60_000);
    const digestAt = tokyo(later);
    const put = await call('PUT', '/api/v1/users/me/notifications', token, {
      webhooks: [{ url: `${receiver.url}/owl`, events: ['task.completed', 'task.failed', 'batch.run_finished', 'digest'] }],
      digest_at: digestAt,
      timezone: 'Asia/Tokyo',
    });
    expect(put.status).toBe(200);
    expect(put.headers.get('cache-control')).toBe('no-store');
    const secret = String(put.body?.signing_secret);
    expect(secret).toMatch(/^whsec_/);
    expect(put.body?.next_digest_at).toBe(later.toISOString());
    const shown = await call('GET', '/api/v1/users/me/notifications', token);
    expect(shown.body).toMatchObject({ signing_secret: null, digest_at: digestAt, timezone: 'Asia/Tokyo', webhooks: [{ url: `${receiver.url}/…/owl`, events: ['task.completed', 'task.failed', 'batch.run_finished', 'digest'] }] });
    expect(JSON.stringify(shown.body)).not.toContain(secret);

    const batch = await call('POST', '/api/v1/batches', token, { name: 'Night shift', tasks: [{ title: 'tidy the docs' }, { title: 'fail the migration' }] });
    expect(batch.status).toBe(201);

    await eventually(async () => hooks('/owl').some((h) => h.json.type === 'batch.run_finished'), 30_000, 'batch.run_finished');
    const received = hooks('/owl');
    const now = Math.floor(Date.now() / 1000);
    for (const hook of received) expect(verifySignature(secret, String(hook.headers['nightshift-signature']), hook.body, now)).toBe(true);
    const types = received.map((h) => h.json.type);
    expect(types).toEqual(expect.arrayContaining(['task.completed', 'task.failed', 'batch.run_finished']));
    const failed = received.find((h) => h.json.type === 'task.failed')?.json;
    expect(failed?.data.task).toMatchObject({ title: 'fail the migration', status: 'failed' });
    expect(failed?.data.task.failure_reason).toMatch(/could not fix it/);
    const finished = received.find((h) => h.json.type === 'batch.run_finished')?.json;
    expect(finished?.data).toMatchObject({ name: 'Night shift', totals: { tasks: 2, completed: 1, failed: 1 } });

    const deliveries = await call('GET', '/api/v1/users/me/notifications/deliveries', token);
    expect(deliveries.status).toBe(200);
    expect((deliveries.body?.deliveries as Json[]).filter((d) => d.status === 'delivered').map((d) => d.event)).toEqual(expect.arrayContaining(['task.completed', 'task.failed', 'batch.run_finished']));
    expect((deliveries.body?.deliveries as Json[])[0]).toMatchObject({ channel: 'webhook', attempts: 1, last_status_code: 200 });
    expect((await call('GET', '/api/v1/users/me/notifications/deliveries?limit=0', token)).status).toBe(400);

    // The digest at the chosen minute tells both tasks; the secret stays as it was.
    const nextMinute = new Date(Math.ceil((Date.now() + 1000) / 60_000) * 60_000);
    const moved = await call('PUT', '/api/v1/users/me/notifications', token, {
      webhooks: [{ url: `${receiver.url}/owl`, events: ['task.completed', 'task.failed', 'batch.run_finished', 'digest'] }],
      digest_at: tokyo(nextMinute),
      timezone: 'Asia/Tokyo',
    });
    expect(moved.body).toMatchObject({ signing_secret: null, next_digest_at: nextMinute.toISOString() });
    const digest = await eventually(async () => hooks('/owl').find((h) => h.json.type === 'digest'), 90_000, 'the digest');
    expect(digest.json.data.totals).toMatchObject({ completed: 1, failed: 1 });
    expect(digest.json.data.text).toContain('tidy the docs: completed');
    expect(digest.json.data.text).toContain('fail the migration: failed');
    expect(digest.json.data.groups[0].name).toBe('Batch Night shift');
    expect(hooks('/owl').filter((h) => h.json.type === 'digest')).toHaveLength(1);
  }, 150_000);

  it('rotates the signing secret on request and shows the new one once', async () => {
    const token = await stack.token('notify-rotate');
    const body = { webhooks: [{ url: `${receiver.url}/rotate`, events: ['task.completed'] }] };
    const first = await call('PUT', '/api/v1/users/me/notifications', token, body);
    const again = await call('PUT', '/api/v1/users/me/notifications', token, body);
    expect(again.body?.signing_secret).toBeNull();
    expect(again.body?.secret_hint).toBe(first.body?.secret_hint);
    const rotated = await call('PUT', '/api/v1/users/me/notifications', token, { ...body, rotate_secret: true });
    expect(rotated.body?.signing_secret).toMatch(/^whsec_/);
    expect(rotated.body?.signing_secret).not.toBe(first.body?.signing_secret);
  });

  it('the CLI sets, shows and lists deliveries; an unknown event is wrong usage (exit 2)', async () => {
    const run = promisify(execFile);
    const env = { PATH: process.env.PATH, HOME: stack.dataDir, NO_COLOR: '1', NIGHTSHIFT_API_URL: stack.url, NIGHTSHIFT_TOKEN: await stack.token('notify-cli') };
    const cli = async (args: string[]) => {
      try {
        const { stdout, stderr } = await run(process.execPath, [resolve('cli/nightshift.mjs'), ...args], { env, timeout: 60_000 });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const failed = error as { code?: number; stdout?: string; stderr?: string };
        return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
      }
    };
    const set = await cli(['notifications', 'set', '--webhook', `${receiver.url}/cli`, '--events', 'task.failed,digest', '--digest-at', '07:30', '--timezone', 'Europe/Berlin']);
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/signing secret: whsec_/);
    expect(set.stdout).toContain('digest at 07:30 Europe/Berlin');
    const show = await cli(['notifications', 'show']);
    expect(show.stdout).toContain('task.failed,digest');
    expect(show.stdout).not.toMatch(/whsec_[A-Za-z0-9_-]{20,}/);
    const list = await cli(['notifications', 'deliveries', '--json']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([]);
    const bad = await cli(['notifications', 'set', '--webhook', `${receiver.url}/cli`, '--events', 'task.started']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown event task.started');
    const refused = await cli(['notifications', 'set', '--webhook', 'http://192.168.1.1/hook']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('VALIDATION_ERROR');
  }, 240_000);
});
