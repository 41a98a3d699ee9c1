import { readFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi, type TestContext } from 'vitest';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, signLocalToken } from '../../scripts/local/local-auth.js';
import { API_ROUTES, routeKey, type RouteDefinition } from '../../src/platform/http/route-table.js';
import { logger } from '../../src/platform/logger.js';
import { setSandboxProvider } from '../../src/sandbox/current.js';
import { eventually, startTestStack } from '../support/local-env.js';
import { RecordingSandboxProvider } from '../support/recording-provider.js';

/*
 * Authorization over HTTP on the local stack: every user route needs credentials, a user sees
 * only their own things, admin routes need the admin group, a callback token opens one task.
 */
type Stack = Awaited<ReturnType<typeof startTestStack>>;
let stack: Stack;
const sandboxes = new RecordingSandboxProvider();

interface Answer {
  status: number;
  body: any;
}

async function call(method: string, path: string, auth: { token?: string; apiKey?: string; authorization?: string } = {}, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (auth.token) headers.authorization = `Bearer ${auth.token}`;
  if (auth.authorization) headers.authorization = auth.authorization;
  if (auth.apiKey) headers['x-api-key'] = auth.apiKey;
  const response = await fetch(`${stack.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

const USER_ROUTES = API_ROUTES.filter((route) => route.auth === 'user');
const ADMIN_ROUTES = USER_ROUTES.filter((route) => route.path.startsWith('/api/v1/admin/'));
const concrete = (route: RouteDefinition, id = '3f0c1c9e-0000-4000-8000-000000000000'): string => route.path.replace('{id}', id);

/** Routes other engineers have not wired yet answer this; their tests are skipped, not passed. */
const isMissingRoute = (answer: Answer): boolean =>
  answer.status === 404 && answer.body?.error?.code === 'NOT_FOUND' && /No route/.test(String(answer.body?.error?.message));
const skipIfMissing = (ctx: TestContext, answer: Answer, what: string): void => {
  if (isMissingRoute(answer)) ctx.skip(`${what} is not implemented yet`);
};

const expectError = (answer: Answer, status: number, code: string): void => {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.body).toMatchObject({ error: { code, message: expect.any(String) } });
};

async function createTask(token: string, title: string): Promise<string> {
  const created = await call('POST', '/api/v1/tasks', { token }, { title });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

beforeAll(async () => {
  stack = await startTestStack({ POLL_INTERVAL: '1' });
  // Sandboxes that only record their callback token: tasks stay running until told otherwise.
  setSandboxProvider(sandboxes);
}, 60_000);
afterAll(async () => {
  setSandboxProvider(undefined);
  await stack?.stop();
});

describe('every user route refuses callers without valid credentials (401 UNAUTHORIZED)', () => {
  const badCredentials: Array<[string, () => Promise<{ token?: string; apiKey?: string; authorization?: string }>]> = [
    ['no credentials', async () => ({})],
    ['an empty bearer', async () => ({ authorization: 'Bearer ' })],
    ['a token that is not a JWT', async () => ({ token: 'not-a-jwt' })],
    ['a token signed with another secret', async () => ({ token: await signLocalToken(new TextEncoder().encode('x'.repeat(32)), 'mallory') })],
    ['an expired token', async () => ({ token: await signLocalToken(stack.secret, 'mallory', { expiresIn: '-1m' }) })],
    ['an unsigned token (alg none)', async () => ({ token: `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'mallory', iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE })).toString('base64url')}.` })],
    ['a token for another audience', async () => ({ token: await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('mallory').setIssuer(LOCAL_ISSUER).setAudience('other').setExpirationTime('5m').sign(stack.secret) })],
    ['basic auth', async () => ({ authorization: `Basic ${Buffer.from('mallory:pw').toString('base64')}` })],
    ['an unknown API key', async () => ({ apiKey: `ns_${'x'.repeat(43)}` })],
    ['a malformed API key', async () => ({ apiKey: "' OR 1=1 --" })],
  ];

  it.each(USER_ROUTES.map((route) => [routeKey(route), route] as const))('%s', async (_key, route) => {
    for (const [name, credentials] of badCredentials) {
      const answer = await call(route.method, concrete(route), await credentials(), route.method === 'GET' || route.method === 'DELETE' ? undefined : {});
      expect(answer.status, `${name}: ${JSON.stringify(answer.body)}`).toBe(401);
      expect(answer.body, name).toMatchObject({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
    }
    // The same request with a valid token gets past authentication (so the 401s above are real).
    const answer = await call(route.method, concrete(route), { token: await stack.token('route-prober') }, route.method === 'GET' || route.method === 'DELETE' ? undefined : {});
    expect(answer.status).not.toBe(401);
  });

  it('covers every route of the route table that needs a user', () => {
    expect(USER_ROUTES.length).toBeGreaterThanOrEqual(25);
    expect(API_ROUTES.filter((route) => route.auth === 'none').map(routeKey)).toEqual(['GET /api/v1/health', 'GET /api/v1/openapi.json']);
  });

  it('serves the OpenAPI document without credentials, the same as docs/openapi.json', async () => {
    const answer = await call('GET', '/api/v1/openapi.json');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(JSON.parse(readFileSync('docs/openapi.json', 'utf8')));
  });
});

describe("a user cannot see or change another user's things (404)", () => {
  it("another user's task is TASK_NOT_FOUND on get, cancel and logs, and stays as it was", async () => {
    const alice = await stack.token('own-alice');
    const bob = await stack.token('own-bob');
    const taskId = await createTask(alice, 'alice only');
    const before = await call('GET', `/api/v1/tasks/${taskId}`, { token: alice });

    expectError(await call('GET', `/api/v1/tasks/${taskId}`, { token: bob }), 404, 'TASK_NOT_FOUND');
    expectError(await call('DELETE', `/api/v1/tasks/${taskId}`, { token: bob }), 404, 'TASK_NOT_FOUND');
    expectError(await call('GET', `/api/v1/tasks/${taskId}/logs`, { token: bob }), 404, 'TASK_NOT_FOUND');
    expect((await call('GET', '/api/v1/tasks', { token: bob })).body).toEqual([]);

    const after = await call('GET', `/api/v1/tasks/${taskId}`, { token: alice });
    expect(after.status).toBe(200);
    expect(after.body.status).not.toBe('cancelled');
    expect(after.body.id).toBe(before.body.id);
  });

  it("another user's API key cannot be revoked (404) and keeps working", async () => {
    const alice = await stack.token('own-alice');
    const created = await call('POST', '/api/v1/users/me/api-keys', { token: alice }, { name: 'alice laptop' });
    expect(created.status).toBe(201);
    expectError(await call('DELETE', `/api/v1/users/me/api-keys/${created.body.id}`, { token: await stack.token('own-bob') }), 404, 'NOT_FOUND');
    expect((await call('GET', '/api/v1/users/me/api-keys', { token: await stack.token('own-bob') })).body).toEqual([]);
    expect((await call('GET', '/api/v1/tasks', { apiKey: created.body.key })).status).toBe(200);
  });

  it("another user's space is not found", async (ctx) => {
    const alice = await stack.token('space-alice');
    const bob = await stack.token('space-bob');
    const put = await call('PUT', '/api/v1/spaces/auth-space-a', { token: alice }, { name: 'Alice space', members: ['space-alice'] });
    skipIfMissing(ctx, put, 'PUT /api/v1/spaces/{id}');
    expect(put.status, JSON.stringify(put.body)).toBeLessThan(300);
    expect((await call('GET', '/api/v1/spaces/auth-space-a/quota', { token: bob })).status).toBe(404);
    expect((await call('GET', '/api/v1/spaces/auth-space-a/ledger', { token: bob })).status).toBe(404);
    const takeover = await call('PUT', '/api/v1/spaces/auth-space-a', { token: bob }, { name: 'Mine now', members: ['space-bob'] });
    expect([403, 404]).toContain(takeover.status);
    expect((await call('GET', '/api/v1/spaces/auth-space-a/quota', { token: alice })).status).toBe(200);
    // The list of spaces: alice's has it, bob's does not.
    expect((await call('GET', '/api/v1/spaces', { token: alice })).body.map((space: { id: string }) => space.id)).toContain('auth-space-a');
    expect((await call('GET', '/api/v1/spaces', { token: bob })).body).toEqual([]);
  });

  it("another user's executor cannot be leased and is not listed", async (ctx) => {
    const alice = await stack.token('exec-alice');
    const bob = await stack.token('exec-bob');
    const registered = await call('POST', '/api/v1/executors', { token: alice }, { executor_id: 'tauri:alice-mac', capabilities: ['gmail.send'], models: [], max_concurrent: 1 });
    skipIfMissing(ctx, registered, 'POST /api/v1/executors');
    expect(registered.status, JSON.stringify(registered.body)).toBeLessThan(300);
    const listed = await call('GET', '/api/v1/executors', { token: bob });
    expect(JSON.stringify(listed.body)).not.toContain('tauri:alice-mac');
    expect((await call('POST', '/api/v1/executors/tauri:alice-mac/lease', { token: bob })).status).toBe(404);
  });
});

describe('admin endpoints need the admin group (403 FORBIDDEN)', () => {
  const validBodies: Record<string, unknown> = {
    'PUT /api/v1/admin/users/{id}/plan': { plan: 'team' },
    'PUT /api/v1/admin/users/{id}/limits': { max_concurrent_agents: 20 },
    'POST /api/v1/admin/spaces/{id}/overrides': { credits: 100, reason: 'launch week', expires_at: new Date(Date.now() + 86_400_000).toISOString() },
    'GET /api/v1/admin/override-requests': undefined,
    'POST /api/v1/admin/override-requests/{id}/decline': { reason: 'no' },
  };

  it('lists every admin route of the route table here', () => {
    expect(ADMIN_ROUTES.map(routeKey).sort()).toEqual(Object.keys(validBodies).sort());
  });

  it.for(ADMIN_ROUTES.map((route) => [routeKey(route), route] as const))('%s refuses a non-admin and changes nothing', async ([key, route], ctx) => {
    const target = 'admin-target';
    const limitsBefore = await call('GET', '/api/v1/users/me/limits', { token: await stack.token(target) });
    const answer = await call(route.method, concrete(route, target), { token: await stack.token('not-an-admin') }, validBodies[key]);
    skipIfMissing(ctx, answer, key);
    expectError(answer, 403, 'FORBIDDEN');
    expect((await call('GET', '/api/v1/users/me/limits', { token: await stack.token(target) })).body).toEqual(limitsBefore.body);
  });

  it('an API key never carries the admin group, even an admin\'s', async () => {
    const admin = await stack.token('the-admin', true);
    const created = await call('POST', '/api/v1/users/me/api-keys', { token: admin }, { name: 'admin automation' });
    expect(created.status).toBe(201);
    expectError(await call('PUT', '/api/v1/admin/users/key-target/plan', { apiKey: created.body.key }, { plan: 'pro' }), 403, 'FORBIDDEN');
  });

  it("an admin's plan change takes effect and is logged with the admin's id", async () => {
    const info = vi.spyOn(logger, 'info');
    try {
      const answer = await call('PUT', '/api/v1/admin/users/promoted-user/plan', { token: await stack.token('the-admin', true) }, { plan: 'pro' });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ user_id: 'promoted-user', plan: 'pro', max_concurrent_agents: 3 });
      expect((await call('GET', '/api/v1/users/me/limits', { token: await stack.token('promoted-user') })).body).toMatchObject({ plan: 'pro' });
      expect(info).toHaveBeenCalledWith(expect.any(String), expect.objectContaining({ admin_id: 'the-admin', user_id: 'promoted-user', plan: 'pro' }));
    } finally {
      info.mockRestore();
    }
  });
});

describe('a callback token opens exactly one task attempt', () => {
  it('is refused on another task, refuses user tokens, and changes nothing after the task finished', async () => {
    const carol = await stack.token('cb-carol');
    const dave = await stack.token('cb-dave');
    const carolTask = await createTask(carol, 'carol task');
    const daveTask = await createTask(dave, 'dave task');
    await eventually(async () => sandboxes.spawned.size >= 2 && [carolTask, daveTask].every((id) => [...sandboxes.spawned.values()].some((r) => r.task.id === id)), 20_000, 'both sandboxes');
    await eventually(async () => (await call('GET', `/api/v1/tasks/${daveTask}`, { token: dave })).body.status === 'running', 10_000, 'dave task running');
    const carolToken = sandboxes.tokenFor(carolTask);
    const report = { status: 'completed', summary: 'done' };

    // Carol's sandbox token on Dave's task: refused, and Dave's task keeps running.
    expectError(await call('POST', `/api/v1/tasks/${daveTask}/complete`, { token: carolToken }, report), 401, 'UNAUTHORIZED');
    // User credentials are not callback tokens, not even the owner's.
    expectError(await call('POST', `/api/v1/tasks/${daveTask}/complete`, { token: dave }, report), 401, 'UNAUTHORIZED');
    expectError(await call('POST', `/api/v1/tasks/${daveTask}/complete`, {}, report), 401, 'UNAUTHORIZED');
    expectError(await call('POST', `/api/v1/tasks/${daveTask}/complete`, { token: 'guess'.repeat(10) }, report), 401, 'UNAUTHORIZED');
    const daveAfter = await call('GET', `/api/v1/tasks/${daveTask}`, { token: dave });
    expect(daveAfter.body).toMatchObject({ status: 'running', result_summary: null });
    expect((await call('GET', '/api/v1/tasks/queue-status', { token: dave })).body).toMatchObject({ running: 1 });

    // Its own task: accepted once; a later report with the same token changes nothing.
    expect((await call('POST', `/api/v1/tasks/${carolTask}/complete`, { token: carolToken }, report)).status).toBe(200);
    const finished = await call('GET', `/api/v1/tasks/${carolTask}`, { token: carol });
    expect(finished.body).toMatchObject({ status: 'completed', result_summary: 'done' });
    // Answered ok so a sandbox's retry is safe, but the first report stands.
    const late = await call('POST', `/api/v1/tasks/${carolTask}/complete`, { token: carolToken }, { status: 'failed', error: 'rewrite history' });
    expect(late).toEqual({ status: 200, body: { ok: true } });
    expect((await call('GET', `/api/v1/tasks/${carolTask}`, { token: carol })).body).toEqual(finished.body);
  }, 60_000);
});

describe('API keys over HTTP', () => {
  it('a key works on user endpoints as its owner, is shown once, and gets 401 once revoked', async () => {
    const erin = await stack.token('key-erin');
    const created = await call('POST', '/api/v1/users/me/api-keys', { token: erin }, { name: 'ci runner' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.any(String), name: 'ci runner', key: expect.stringMatching(/^ns_/), prefix: expect.any(String), created_at: expect.any(String), expires_at: null, revoked_at: null, status: 'active' });
    const key = created.body.key as string;

    const viaKey = await call('POST', '/api/v1/tasks', { apiKey: key }, { title: 'made with a key' });
    expect(viaKey.status).toBe(201);
    expect((await call('GET', `/api/v1/tasks/${viaKey.body.id}`, { token: erin })).status).toBe(200);
    expect((await call('GET', '/api/v1/tasks', { apiKey: key })).body.map((t: any) => t.id)).toContain(viaKey.body.id);

    const listed = await call('GET', '/api/v1/users/me/api-keys', { token: erin });
    expect(listed.body).toEqual([expect.objectContaining({ id: created.body.id, name: 'ci runner', status: 'active' })]);
    expect(JSON.stringify(listed.body)).not.toContain(key);
    expect(listed.body[0]).not.toHaveProperty('key');

    expect((await call('DELETE', `/api/v1/users/me/api-keys/${created.body.id}`, { token: erin })).body).toEqual({ revoked: true });
    expectError(await call('GET', '/api/v1/tasks', { apiKey: key }), 401, 'UNAUTHORIZED');
    expect((await call('GET', '/api/v1/users/me/api-keys', { token: erin })).body[0]).toMatchObject({ status: 'revoked' });
  });

  it('an expired key gets 401', async () => {
    const erin = await stack.token('key-erin');
    const expiresAt = new Date(Date.now() + 1500);
    const created = await call('POST', '/api/v1/users/me/api-keys', { token: erin }, { name: 'short lived', expires_at: expiresAt.toISOString() });
    expect(created.status).toBe(201);
    expect(created.body.expires_at).toBe(expiresAt.toISOString());
    expect((await call('GET', '/api/v1/tasks/queue-status', { apiKey: created.body.key })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, expiresAt.getTime() - Date.now() + 100));
    expectError(await call('GET', '/api/v1/tasks/queue-status', { apiKey: created.body.key }), 401, 'UNAUTHORIZED');
  });

  it('refuses an expiry in the past and a nameless key', async () => {
    const erin = await stack.token('key-erin');
    expectError(await call('POST', '/api/v1/users/me/api-keys', { token: erin }, { name: 'old', expires_at: '2001-01-01T00:00:00Z' }), 400, 'VALIDATION_ERROR');
    expectError(await call('POST', '/api/v1/users/me/api-keys', { token: erin }, { name: '   ' }), 400, 'VALIDATION_ERROR');
  });
});
