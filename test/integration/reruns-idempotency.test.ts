import type { Context } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../functions/api/all-routes.js';
import type { ApiEvent, ApiResult } from '../../src/platform/http/api-handler.js';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { spawnClaimedTask } from '../../src/scheduling/spawn.js';
import { setSandboxProvider } from '../../src/sandbox/current.js';
import { completeTask } from '../../src/tasks/finish-task.js';
import { getUser } from '../../src/accounts/user-store.js';
import { listUserTasks } from '../../src/tasks/task-store.js';
import { RecordingSandboxProvider } from '../support/recording-provider.js';
import { takeSpawnMessages, useFreshTable, type TestEnv } from '../support/local-env.js';

let env: TestEnv;
let provider: RecordingSandboxProvider;
let n = 0;
const user = () => `rerun-${++n}-${Date.now()}`;

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: any;
}

/** One request through the API Lambda, as API Gateway would hand it over. */
async function call(userId: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const template = path.replace(/\/api\/v1\/(tasks|batches)\/[^/?]+/, (_, kind: string) => `/api/v1/${kind}/{id}`).split('?')[0] ?? path;
  const id = /\/api\/v1\/(?:tasks|batches)\/([^/?]+)/.exec(path)?.[1];
  const routeKey = `${method} ${template === '/api/v1/tasks/{id}' && id === 'queue-status' ? '/api/v1/tasks/queue-status' : template}`;
  const event = {
    version: '2.0',
    routeKey,
    rawPath: path.split('?')[0],
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...headers },
    pathParameters: id && id !== 'queue-status' ? { id } : undefined,
    queryStringParameters: path.includes('?') ? Object.fromEntries(new URLSearchParams(path.split('?')[1])) : undefined,
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: { requestId: `r-${Math.random()}`, routeKey, authorizer: { lambda: { sub: userId } } },
  } as unknown as ApiEvent;
  const result = (await handler(event, {} as Context)) as ApiResult;
  return { status: result.statusCode ?? 200, headers: (result.headers ?? {}) as Record<string, string>, body: result.body ? JSON.parse(result.body) : null };
}

async function claimAndSpawn(): Promise<string[]> {
  await claimNextTasks({});
  const messages = await takeSpawnMessages(env.queues.spawnQueueUrl);
  for (const message of messages) await spawnClaimedTask(message);
  return messages.map((message) => message.task_id);
}

beforeEach(async () => {
  env = await useFreshTable();
  provider = new RecordingSandboxProvider();
  setSandboxProvider(provider);
});

describe('Idempotency-Key on the creating endpoints', () => {
  it('the same key and body answers the first answer again and creates nothing; another body is 409', async () => {
    const owner = user();
    const key = { 'Idempotency-Key': 'night-1' };
    const first = await call(owner, 'POST', '/api/v1/tasks', { title: 'once', description: 'x' }, key);
    expect(first.status).toBe(201);
    // Same body, other key order and spacing: the same request.
    const again = await call(owner, 'POST', '/api/v1/tasks', { description: 'x', title: 'once' }, key);
    expect(again).toMatchObject({ status: 201, headers: { 'idempotent-replayed': 'true' } });
    expect(again.body.id).toBe(first.body.id);

    const other = await call(owner, 'POST', '/api/v1/tasks', { title: 'something else' }, key);
    expect(other).toMatchObject({ status: 409, body: { error: { code: 'IDEMPOTENCY_CONFLICT' } } });
    expect((await listUserTasks(owner, { limit: 10 })).tasks).toHaveLength(1);
    expect((await getUser(owner, new Date())).pending_count).toBe(1);

    // Keys are per user: another user's same key is their own request.
    const stranger = await call(user(), 'POST', '/api/v1/tasks', { title: 'once', description: 'x' }, key);
    expect(stranger.status).toBe(201);
    expect(stranger.body.id).not.toBe(first.body.id);
  });

  it('concurrent duplicates with the same key create one task', async () => {
    const owner = user();
    const answers = await Promise.all(Array.from({ length: 6 }, () => call(owner, 'POST', '/api/v1/tasks', { title: 'retry storm' }, { 'idempotency-key': 'storm' })));
    expect(answers.map((answer) => answer.status)).toEqual([201, 201, 201, 201, 201, 201]);
    expect(new Set(answers.map((answer) => answer.body.id)).size).toBe(1);
    expect((await listUserTasks(owner, { limit: 10 })).tasks).toHaveLength(1);
  });

  it('a first request that was refused frees the key; a bad key is a 400', async () => {
    const owner = user();
    const refused = await call(owner, 'POST', '/api/v1/tasks', { title: 'x', space_id: 'nobody-s-space' }, { 'Idempotency-Key': 'k' });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    const retried = await call(owner, 'POST', '/api/v1/tasks', { title: 'x' }, { 'Idempotency-Key': 'k' });
    expect(retried.status).toBe(201);
    const bad = await call(owner, 'POST', '/api/v1/tasks', { title: 'x' }, { 'Idempotency-Key': 'has spaces' });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_ERROR' } } });
  });

  it('POST /batches with the same key queues the batch once', async () => {
    const owner = user();
    const body = { name: 'tonight', tasks: [{ title: 'a' }, { title: 'b' }] };
    const first = await call(owner, 'POST', '/api/v1/batches', body, { 'Idempotency-Key': 'b1' });
    const second = await call(owner, 'POST', '/api/v1/batches', body, { 'Idempotency-Key': 'b1' });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.body.id).toBe(first.body.id);
    expect((await listUserTasks(owner, { limit: 10 })).tasks).toHaveLength(2);
  });
});

describe('reruns', () => {
  it('reruns a finished task with overrides and rerun_of; an unfinished one is 409', async () => {
    const owner = user();
    const created = await call(owner, 'POST', '/api/v1/tasks', { title: 'fix login', description: 'flaky', priority: 2, max_attempts: 2 });
    const early = await call(owner, 'POST', `/api/v1/tasks/${created.body.id}/rerun`, {});
    expect(early).toMatchObject({ status: 409, body: { error: { code: 'TASK_NOT_FINISHED' } } });

    expect(await claimAndSpawn()).toEqual([created.body.id]);
    await completeTask(created.body.id, provider.tokenFor(created.body.id), { status: 'completed', summary: 'done' });

    const rerun = await call(owner, 'POST', `/api/v1/tasks/${created.body.id}/rerun`, { title: 'fix login again' }, { 'Idempotency-Key': 'r1' });
    expect(rerun).toMatchObject({ status: 201, body: { title: 'fix login again', description: 'flaky', priority: 2, max_attempts: 2, status: 'pending', rerun_of: created.body.id } });
    const replay = await call(owner, 'POST', `/api/v1/tasks/${created.body.id}/rerun`, { title: 'fix login again' }, { 'Idempotency-Key': 'r1' });
    expect(replay.body.id).toBe(rerun.body.id);
    expect((await listUserTasks(owner, { limit: 10 })).tasks).toHaveLength(2);

    const invalid = await call(owner, 'POST', `/api/v1/tasks/${created.body.id}/rerun`, { priority: 9 });
    expect(invalid).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_ERROR' } } });
    const missing = await call(user(), 'POST', `/api/v1/tasks/${created.body.id}/rerun`, {});
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'TASK_NOT_FOUND' } } });
  });

  it('reruns the failed tasks of a batch run as a new run; a run with none failed is 409', async () => {
    const owner = user();
    const batch = await call(owner, 'POST', '/api/v1/batches', { name: 'night', tasks: [{ title: 'ok' }, { title: 'breaks' }] });
    expect(batch.status).toBe(201);
    const [okTask, badTask] = batch.body.tasks as { id: string }[];
    const none = await call(owner, 'POST', `/api/v1/batches/${batch.body.id}/rerun-failed`, {});
    expect(none).toMatchObject({ status: 409, body: { error: { code: 'NOTHING_TO_RERUN' } } });

    expect(await claimAndSpawn()).toEqual([okTask?.id]);
    await completeTask(okTask!.id, provider.tokenFor(okTask!.id), { status: 'completed' });
    expect(await claimAndSpawn()).toEqual([badTask?.id]);
    await completeTask(badTask!.id, provider.tokenFor(badTask!.id), { status: 'failed', error: 'tests red' });

    const rerun = await call(owner, 'POST', `/api/v1/batches/${batch.body.id}/rerun-failed`, {}, { 'Idempotency-Key': 'again' });
    expect(rerun.status).toBe(201);
    expect(rerun.body.tasks).toEqual([expect.objectContaining({ title: 'breaks', rerun_of: badTask?.id, batch_id: batch.body.id, status: 'pending' })]);
    expect(rerun.body.occurrence.key).toMatch(/^rerun-/);
    const replay = await call(owner, 'POST', `/api/v1/batches/${batch.body.id}/rerun-failed`, {}, { 'Idempotency-Key': 'again' });
    expect(replay.body.tasks[0].id).toBe(rerun.body.tasks[0].id);

    const report = await call(owner, 'GET', `/api/v1/batches/${batch.body.id}/report`);
    expect(report.body.occurrences).toContain(rerun.body.occurrence.key);
    expect(report.body.tasks.map((task: { title: string }) => task.title)).toEqual(['breaks']);
    // The new run has nothing failed yet.
    const nothing = await call(owner, 'POST', `/api/v1/batches/${batch.body.id}/rerun-failed`, {});
    expect(nothing).toMatchObject({ status: 409, body: { error: { code: 'NOTHING_TO_RERUN' } } });
  });
});

describe('why a pending task waits', () => {
  it('says a free user waits for their one slot, and when the next task is expected to start', async () => {
    const owner = user();
    const running = await call(owner, 'POST', '/api/v1/tasks', { title: 'long', estimated_minutes: 30 });
    expect(await claimAndSpawn()).toEqual([running.body.id]);
    const next = await call(owner, 'POST', '/api/v1/tasks', { title: 'next', estimated_minutes: 10 });
    const later = await call(owner, 'POST', '/api/v1/tasks', { title: 'later', not_before: new Date(Date.now() + 6 * 3600_000).toISOString() });

    const view = await call(owner, 'GET', `/api/v1/tasks/${next.body.id}`);
    expect(view.body).toMatchObject({ status: 'pending', waiting_for: 'slot', waiting_message: '1 of 1 agents running on the free plan' });
    const expected = Date.parse(view.body.expected_start_at);
    // The running task's 30-minute estimate, less the moments it already ran.
    expect(expected).toBeGreaterThan(Date.now() + 29 * 60_000);
    expect(expected).toBeLessThan(Date.now() + 31 * 60_000);

    const scheduled = await call(owner, 'GET', `/api/v1/tasks/${later.body.id}`);
    expect(scheduled.body).toMatchObject({ waiting_for: 'not_before', expected_start_at: new Date(later.body.not_before).toISOString() });

    const list = await call(owner, 'GET', '/api/v1/tasks?status=pending');
    expect(list.status).toBe(200);
    const status = await call(owner, 'GET', '/api/v1/tasks/queue-status');
    expect(status.body).toMatchObject({ waiting_for: 'slot', waiting_message: '1 of 1 agents running on the free plan', waiting_counts: { slot: 1, not_before: 1 } });
    expect(status.body.next_expected_start_at).toBe(view.body.expected_start_at);

    const done = await call(owner, 'GET', `/api/v1/tasks/${running.body.id}`);
    expect(done.body).toMatchObject({ waiting_for: null, expected_start_at: null, attempt_history: [], max_attempts: 1 });
  });
});
