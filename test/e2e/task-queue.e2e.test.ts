import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestStack } from '../support/local-env.js';

type Stack = Awaited<ReturnType<typeof startTestStack>>;
let stack: Stack;

const agent = resolve('scripts/demo-agent.mjs');

async function call(method: string, path: string, token?: string, body?: unknown) {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, any>) : null };
}

beforeAll(async () => {
  stack = await startTestStack({ SANDBOX_COMMAND: `DEMO_AGENT_SECONDS=1 node ${agent}`, POLL_INTERVAL: '2' });
}, 60_000);
afterAll(async () => stack?.stop());

describe('a free user queues five tasks (over HTTP, on the local stack)', () => {
  it('runs exactly one at a time, each next one claimed right after the previous finishes, with truthful positions and status', async () => {
    const token = await stack.token('freddie');
    const created: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const response = await call('POST', '/api/v1/tasks', token, { title: `night task ${i}`, description: 'demo', project_id: 'p1' });
      expect(response.status).toBe(201);
      expect(response.body).toMatchObject({ title: `night task ${i}`, priority: 3, status: expect.stringMatching(/pending|claimed|running/) });
      created.push(response.body!.id as string);
    }

    const positionsSeen = new Map<string, Set<number>>();
    let maxActive = 0;
    const finished = await eventually(async () => {
      const list = await call('GET', '/api/v1/tasks?limit=50', token);
      const tasks = list.body as unknown as Array<Record<string, any>>;
      const active = tasks.filter((t) => t.status === 'claimed' || t.status === 'running').length;
      maxActive = Math.max(maxActive, active);
      for (const task of tasks) {
        if (task.status === 'pending') {
          expect(task.queue_position).toBeGreaterThanOrEqual(1);
          const seen = positionsSeen.get(task.id) ?? new Set<number>();
          seen.add(task.queue_position as number);
          positionsSeen.set(task.id, seen);
        } else {
          expect(task.queue_position).toBeNull();
        }
      }
      const status = await call('GET', '/api/v1/tasks/queue-status', token);
      expect(status.body!.running).toBeLessThanOrEqual(1);
      expect(status.body!.max_concurrent).toBe(1);
      return tasks.every((t) => t.status === 'completed') ? tasks : undefined;
    }, 90_000, 'all five tasks to complete');

    expect(maxActive).toBe(1);
    expect(finished).toHaveLength(5);
    // The last task waited behind all four others, and its position counted down.
    const last = positionsSeen.get(created[4] as string);
    expect(last && Math.max(...last)).toBeGreaterThanOrEqual(3);
    expect(last && Math.min(...last)).toBe(1);
    // Each next task was claimed soon after the previous one finished (wake on slot freed, not the timer).
    const byStart = [...finished].sort((a, b) => String(a.started_at).localeCompare(String(b.started_at)));
    for (let i = 1; i < byStart.length; i++) {
      const gap = Date.parse(byStart[i]!.claimed_at) - Date.parse(byStart[i - 1]!.completed_at);
      expect(gap).toBeGreaterThanOrEqual(0);
    }
    for (const task of finished) expect(task.result_summary).toContain('Demo agent');

    const limits = await call('GET', '/api/v1/users/me/limits', token);
    expect(limits.body).toMatchObject({ plan: 'free', max_concurrent_agents: 1, max_task_duration_minutes: 30, monthly_agent_hours_limit: 10 });
    expect(limits.body!.monthly_agent_hours_used).toBeGreaterThan(0);
    const status = await call('GET', '/api/v1/tasks/queue-status', token);
    expect(status.body).toMatchObject({ running: 0, pending: 0, can_start_more: true });
  }, 120_000);
});

describe('every error code of the seed over HTTP', () => {
  it('401 UNAUTHORIZED without a token or with a bad one', async () => {
    const none = await call('GET', '/api/v1/tasks');
    expect(none).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    const bad = await call('GET', '/api/v1/tasks', 'not-a-jwt');
    expect(bad.status).toBe(401);
  });

  it('400 VALIDATION_ERROR names what is wrong and creates nothing', async () => {
    const token = await stack.token('val');
    for (const body of [{}, { title: '' }, { title: 'x', priority: 9 }, { title: 'x', surprise: 1 }, '{not json']) {
      const response = await call('POST', '/api/v1/tasks', token, body);
      expect(response.status).toBe(400);
      expect(response.body!.error.code).toBe('VALIDATION_ERROR');
      expect(response.body!.error.message.length).toBeGreaterThan(3);
    }
    expect((await call('GET', '/api/v1/tasks', token)).body).toEqual([]);
  });

  it('404 TASK_NOT_FOUND for a missing task and for another user\'s task', async () => {
    const owner = await stack.token('owner');
    const other = await stack.token('intruder');
    const created = await call('POST', '/api/v1/tasks', owner, { title: 'mine', not_before: new Date(Date.now() + 3600_000).toISOString() });
    for (const [method, path] of [
      ['GET', `/api/v1/tasks/${created.body!.id}`],
      ['DELETE', `/api/v1/tasks/${created.body!.id}`],
      ['GET', '/api/v1/tasks/does-not-exist'],
    ] as const) {
      const response = await call(method, path, other);
      expect(response).toMatchObject({ status: 404, body: { error: { code: 'TASK_NOT_FOUND' } } });
    }
    expect((await call('GET', `/api/v1/tasks/${created.body!.id}`, owner)).body!.status).toBe('pending');
  });

  it('400 TASK_ALREADY_COMPLETED when cancelling a finished task; a pending one cancels', async () => {
    const token = await stack.token('canceller');
    const created = await call('POST', '/api/v1/tasks', token, { title: 'later', not_before: new Date(Date.now() + 3600_000).toISOString() });
    expect(created.body!.not_before).toBeTruthy();
    expect(await call('DELETE', `/api/v1/tasks/${created.body!.id}`, token)).toMatchObject({ status: 200, body: { cancelled: true } });
    expect((await call('GET', `/api/v1/tasks/${created.body!.id}`, token)).body!.status).toBe('cancelled');
    const again = await call('DELETE', `/api/v1/tasks/${created.body!.id}`, token);
    expect(again).toMatchObject({ status: 400, body: { error: { code: 'TASK_ALREADY_COMPLETED' } } });
  });

  it('400 TOO_MANY_PENDING at the pending limit (an admin lowers it to 10)', async () => {
    const admin = await stack.token('root', true);
    const token = await stack.token('hoarder');
    expect((await call('PUT', '/api/v1/admin/users/hoarder/limits', admin, { max_pending_tasks: 10 })).status).toBe(200);
    const later = new Date(Date.now() + 3600_000).toISOString();
    for (let i = 0; i < 10; i++) expect((await call('POST', '/api/v1/tasks', token, { title: `t${i}`, not_before: later })).status).toBe(201);
    const over = await call('POST', '/api/v1/tasks', token, { title: 'one too many', not_before: later });
    expect(over).toMatchObject({ status: 400, body: { error: { code: 'TOO_MANY_PENDING' } } });
    expect((await call('GET', '/api/v1/tasks/queue-status', token)).body!.pending).toBe(10);
  });

  it('403 MONTHLY_LIMIT_REACHED when the month has no hours left', async () => {
    const admin = await stack.token('root', true);
    const token = await stack.token('spent');
    expect((await call('PUT', '/api/v1/admin/users/spent/limits', admin, { monthly_agent_hours_limit: 0 })).body).toMatchObject({ monthly_agent_hours_limit: 0 });
    const response = await call('POST', '/api/v1/tasks', token, { title: 'no hours' });
    expect(response).toMatchObject({ status: 403, body: { error: { code: 'MONTHLY_LIMIT_REACHED' } } });
  });

  it('403 FORBIDDEN for a non-admin on admin endpoints; an admin changes a plan', async () => {
    const token = await stack.token('mallory');
    expect(await call('PUT', '/api/v1/admin/users/mallory/plan', token, { plan: 'enterprise' })).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    expect((await call('GET', '/api/v1/users/me/limits', token)).body!.plan).toBe('free');
    const admin = await stack.token('root', true);
    const changed = await call('PUT', '/api/v1/admin/users/mallory/plan', admin, { plan: 'pro' });
    expect(changed.body).toMatchObject({ plan: 'pro', max_concurrent_agents: 3, max_task_duration_minutes: 120, monthly_agent_hours_limit: 100 });
    expect((await call('GET', '/api/v1/users/me/limits', token)).body!.plan).toBe('pro');
  });

  it('lists newest first with a cursor in x-next-cursor and filters by status', async () => {
    const token = await stack.token('pager');
    const later = new Date(Date.now() + 3600_000).toISOString();
    for (let i = 0; i < 5; i++) await call('POST', '/api/v1/tasks', token, { title: `p${i}`, not_before: later });
    const first = await call('GET', '/api/v1/tasks?limit=2', token);
    expect((first.body as unknown as any[]).map((t) => t.title)).toEqual(['p4', 'p3']);
    const cursor = first.headers.get('x-next-cursor');
    expect(cursor).toBeTruthy();
    const second = await call('GET', `/api/v1/tasks?limit=2&cursor=${cursor}`, token);
    expect((second.body as unknown as any[]).map((t) => t.title)).toEqual(['p2', 'p1']);
    expect(((await call('GET', '/api/v1/tasks?status=completed', token)).body as unknown as any[])).toEqual([]);
    expect(((await call('GET', '/api/v1/tasks?status=pending', token)).body as unknown as any[])).toHaveLength(5);
    expect((await call('GET', '/api/v1/tasks?status=bogus', token)).status).toBe(400);
  });

  it('health answers ok without auth', async () => {
    expect(await call('GET', '/api/v1/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
  });
});

describe('the create response says why a new task waits and when it starts, as GET says it', () => {
  const WAIT_FIELDS = ['status', 'queue_position', 'waiting_for', 'waiting_message', 'blocked_reason'] as const;
  const pick = (body: Record<string, any>) => Object.fromEntries(WAIT_FIELDS.map((field) => [field, body[field]]));

  it('first in line with a free slot: scheduled tasks start at their time, the same answer as GET', async () => {
    const token = await stack.token('create-view-scheduled');
    const notBefore = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, '.000Z');
    const created = await call('POST', '/api/v1/tasks', token, { title: 'at dawn', not_before: notBefore });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ queue_position: 1, waiting_for: 'not_before', expected_start_at: notBefore });
    const read = await call('GET', `/api/v1/tasks/${created.body!.id}`, token);
    expect(pick(created.body!)).toEqual(pick(read.body!));
    expect(read.body!.expected_start_at).toBe(notBefore);
  });

  it('behind other work: its place in the queue and the wait for a slot, the same answer as GET', async () => {
    const token = await stack.token('create-view-behind');
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const first = await call('POST', '/api/v1/tasks', token, { title: 'first', not_before: later });
    const second = await call('POST', '/api/v1/tasks', token, { title: 'second', not_before: later, priority: 4 });
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({ queue_position: 2, waiting_for: 'not_before' });
    const read = await call('GET', `/api/v1/tasks/${second.body!.id}`, token);
    expect(pick(second.body!)).toEqual(pick(read.body!));
    expect(second.body!.expected_start_at).toBe(read.body!.expected_start_at);
    expect(first.body!.queue_position).toBe(1);
  });

  it('with a free slot and nothing ahead: starting now', async () => {
    const token = await stack.token('create-view-now');
    const before = Date.now();
    const created = await call('POST', '/api/v1/tasks', token, { title: 'right away' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'pending', queue_position: 1, waiting_for: 'slot', waiting_message: '0 of 1 agents running on the free plan; starting now' });
    expect(Date.parse(created.body!.expected_start_at as string)).toBeGreaterThanOrEqual(before - 1000);
  });
});
