import http from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../src/platform/http/api-handler.js';
import { API_ROUTES, routeKey } from '../../src/platform/http/route-table.js';
import { setSandboxProvider } from '../../src/sandbox/current.js';
import { startTestStack } from '../support/local-env.js';
import { RecordingSandboxProvider } from '../support/recording-provider.js';

/*
 * Hostile input over HTTP on the local stack: bad input gets a 4xx with an error code and a
 * message, never a 5xx, and a rejected request changes nothing the user can see.
 */
type Stack = Awaited<ReturnType<typeof startTestStack>>;
let stack: Stack;
let adminToken: string;

interface Answer {
  status: number;
  text: string;
  body: any;
}

async function send(method: string, path: string, options: { token?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(`${stack.url}${path}`, { method, headers, body: options.body });
  const text = await response.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { unparsable: text.slice(0, 200) };
  }
  return { status: response.status, text, body };
}

const sendJson = (method: string, path: string, token: string, body: unknown) => send(method, path, { token, body: JSON.stringify(body) });

/** Everything a user can see of their account. */
const ACCOUNT_VIEWS = ['/api/v1/tasks?limit=100', '/api/v1/tasks/queue-status', '/api/v1/users/me/limits', '/api/v1/users/me/api-keys', '/api/v1/batches', '/api/v1/executors'];

/** What the user sees at `paths`; a rejected request must leave all of it as it was. */
async function snapshot(token: string, paths: string[] = ACCOUNT_VIEWS): Promise<Record<string, { status: number; body: unknown }>> {
  const answers = await Promise.all(paths.map((path) => send('GET', path, { token })));
  return Object.fromEntries(paths.map((path, i) => [path, { status: answers[i]!.status, body: answers[i]!.body }]));
}

/** A snapshot once asynchronous effects of an accepted request (wake-ups, batches) settled. */
async function settledSnapshot(token: string, paths: string[] = ACCOUNT_VIEWS) {
  let previous = await snapshot(token, paths);
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const next = await snapshot(token, paths);
    if (JSON.stringify(next) === JSON.stringify(previous)) return next;
    previous = next;
  }
  return previous;
}

/** A fresh user whose tasks are never claimed (an admin sets 0 slots), so nothing moves by itself. */
async function quietUser(name: string): Promise<string> {
  const answer = await sendJson('PUT', `/api/v1/admin/users/${name}/limits`, adminToken, { max_concurrent_agents: 0 });
  expect(answer.status).toBe(200);
  return stack.token(name);
}

const expectRejected = (answer: Answer, statuses: number[], codes: string[]): void => {
  expect(statuses, `${answer.status} ${answer.text.slice(0, 300)}`).toContain(answer.status);
  expect(codes).toContain(answer.body?.error?.code);
  expect(answer.body.error.message).toEqual(expect.any(String));
  expect(answer.body.error.message.length).toBeGreaterThan(5);
};

beforeAll(async () => {
  stack = await startTestStack({ POLL_INTERVAL: '1' });
  setSandboxProvider(new RecordingSandboxProvider());
  adminToken = await stack.token('hostile-admin', true);
}, 60_000);
afterAll(async () => {
  setSandboxProvider(undefined);
  await stack?.stop();
});

describe('hostile bodies get 4xx with a useful message and change nothing', () => {
  let token: string;
  let before: Awaited<ReturnType<typeof snapshot>>;

  beforeAll(async () => {
    token = await quietUser('hostile-bodies');
    expect((await sendJson('POST', '/api/v1/tasks', token, { title: 'already there' })).status).toBe(201);
    before = await settledSnapshot(token);
  });

  const post = (body: string | Buffer, path = '/api/v1/tasks') => send('POST', path, { token, body });

  it.each([
    ['just over the limit (checked by the handler)', MAX_BODY_BYTES + 10],
    ['well over the limit (cut off by the adapter)', 5 * 1024 * 1024],
  ])('a body %s: 413 PAYLOAD_TOO_LARGE', async (_name, size) => {
    const body = JSON.stringify({ title: 'big', description: 'x'.repeat(size) });
    expectRejected(await post(body), [413], ['PAYLOAD_TOO_LARGE']);
    expect(await snapshot(token)).toEqual(before);
  });

  it('serves the next request on a kept-alive connection after a 413', async () => {
    // Prepare: one socket, kept alive, as curl, browsers and SDK clients use.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const call = (method: string, path: string, body?: Buffer) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = http.request(`${stack.url}${path}`, { method, agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
        });
        request.on('error', reject);
        request.end(body);
      });

    // Act
    const refused = await call('POST', '/api/v1/tasks', Buffer.from(JSON.stringify({ title: 'big', description: 'x'.repeat(2 * 1024 * 1024) })));
    const next = await call('GET', '/api/v1/health');
    agent.destroy();

    // Assess
    expect(refused.status).toBe(413);
    expect(next.status).toBe(200);
  });

  it.each([
    ['a cut-off object', '{"title": "a",'],
    ['single quotes', "{'title': 'a'}"],
    ['trailing garbage', '{"title": "a"} {"title": "b"}'],
    ['a NUL byte', '\u0000'],
    ['a bare word', 'title=a'],
    ['an unclosed string', '{"title": "a'],
    ['deep nesting', '['.repeat(100_000)],
    ['deep but valid nesting', `${'['.repeat(10_000)}${']'.repeat(10_000)}`],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
  ])('malformed JSON (%s): 400 VALIDATION_ERROR', async (_name, body) => {
    expectRejected(await post(body), [400], ['VALIDATION_ERROR']);
    expect(await snapshot(token)).toEqual(before);
  });

  it.each([
    ['an array', []],
    ['null', null],
    ['a string', 'make a task'],
    ['a number', 42],
    ['title as a number', { title: 123 }],
    ['priority as a word', { title: 'a', priority: 'high' }],
    ['a fractional priority', { title: 'a', priority: 1.5 }],
    ['priority out of range', { title: 'a', priority: 99 }],
    ['input as a list', { title: 'a', input: [1, 2] }],
    ['input as a string', { title: 'a', input: 'x' }],
    ['not_before that is no time', { title: 'a', not_before: 'tomorrow' }],
    ['not_before on 31 February', { title: 'a', not_before: '2030-02-31T00:00:00Z' }],
    ['negative tokens', { title: 'a', estimated_tokens: -1 }],
    ['an unknown type', { title: 'a', type: 'root' }],
    ['an action without integration', { title: 'a', type: 'action' }],
    ['a blank title', { title: '   ' }],
  ])('wrong types (%s): 400 VALIDATION_ERROR naming the field', async (_name, body) => {
    const answer = await post(JSON.stringify(body));
    expectRejected(answer, [400], ['VALIDATION_ERROR']);
    expect(await snapshot(token)).toEqual(before);
  });

  it.each([
    ['user_id (mass assignment)', { title: 'a', user_id: 'someone-else' }],
    ['status', { title: 'a', status: 'completed' }],
    ['callback_token_hash', { title: 'a', callback_token_hash: 'x' }],
    ['__proto__', JSON.parse('{"title": "a", "__proto__": {"admin": true}}')],
    ['a misspelt field', { title: 'a', priorty: 1 }],
  ])('an unknown field (%s): 400 VALIDATION_ERROR', async (_name, body) => {
    const answer = await post(JSON.stringify(body));
    expectRejected(answer, [400], ['VALIDATION_ERROR']);
    expect(answer.body.error.message).toMatch(/nrecognized|unknown/i);
    expect(await snapshot(token)).toEqual(before);
  });

  it.each([
    ['a 201-character title', { title: 'x'.repeat(201) }],
    ['a 200 000-character title', { title: 'x'.repeat(200_000) }],
    ['a 20 001-character description', { title: 'a', description: 'x'.repeat(20_001) }],
    ['input nested 40 deep', { title: 'a', input: JSON.parse(`${'{"a":'.repeat(40)}1${'}'.repeat(40)}`) }],
    ['a number DynamoDB cannot hold in input', { title: 'a', input: { n: 1e200 } }],
    ['a number too small for DynamoDB in input', { title: 'a', input: { n: 1e-200 } }],
    ['an empty key in input', { title: 'a', input: { '': 1 } }],
  ])('huge or unstorable values (%s): 400 VALIDATION_ERROR with a short message', async (_name, body) => {
    const answer = await post(JSON.stringify(body));
    expectRejected(answer, [400], ['VALIDATION_ERROR']);
    expect(answer.text.length).toBeLessThan(5000);
    expect(await snapshot(token)).toEqual(before);
  });

  it('an unknown plan of 200 000 characters is not echoed back in full', async () => {
    const answer = await sendJson('PUT', '/api/v1/admin/users/hostile-bodies/plan', adminToken, { plan: 'p'.repeat(200_000) });
    expectRejected(answer, [400], ['VALIDATION_ERROR']);
    expect(answer.text.length).toBeLessThan(5000);
    expect(await snapshot(token)).toEqual(before);
  });

  it('a callback with a huge or malformed report is refused and the task stays as it was', async () => {
    const taskId = (before['/api/v1/tasks?limit=100']!.body as any[])[0].id as string;
    for (const body of ['{"status":', JSON.stringify({ status: 'done' }), JSON.stringify({ status: 'completed', files_changed: Array.from({ length: 1001 }, () => 'f') })]) {
      const answer = await send('POST', `/api/v1/tasks/${taskId}/complete`, { token: 'x'.repeat(40), body });
      expect([400, 401]).toContain(answer.status);
    }
    expect(await snapshot(token)).toEqual(before);
  });
});

describe('unicode is stored and returned exactly', () => {
  it.each([
    ['emoji with joiners', '👩‍💻 deploy 🚀'],
    ['right-to-left text', 'פריסה \u202Eתוכנה'],
    ['a NUL inside', 'before\u0000after'],
    ['combining marks', 'Ÿ̸̡͎e̵s̶'],
    ['CJK', '夜間の作業'],
  ])('%s', async (_name, title) => {
    const token = await quietUser('unicode-user');
    const created = await sendJson('POST', '/api/v1/tasks', token, { title, description: title, input: { [title]: title } });
    expect(created.status, created.text).toBe(201);
    const fetched = await send('GET', `/api/v1/tasks/${created.body.id}`, { token });
    expect(fetched.body).toMatchObject({ title, description: title, input: { [title]: title } });
  });
});

describe('path parameters that are not ids: 400 or 404, nothing changes', () => {
  let token: string;
  let before: Awaited<ReturnType<typeof snapshot>>;

  beforeAll(async () => {
    token = await quietUser('hostile-paths');
    expect((await sendJson('POST', '/api/v1/tasks', token, { title: 'keep me' })).status).toBe(201);
    before = await settledSnapshot(token);
  });

  it.each([
    ['an encoded path traversal', '..%2F..'],
    ['encoded dots', '%2e%2e'],
    ['a 10 000-character id', 'a'.repeat(10_000)],
    ['a key-layout character', 'USER%23hostile-paths'],
    ['a quote', "x'%20OR%20'1'='1"],
    ['an emoji', '%F0%9F%98%80'],
    ['a NUL', '%00'],
    ['broken percent-encoding', '%E0%A4%A'],
    ['a lone percent', '%'],
    ['spaces', '%20%20'],
  ])('%s', async (_name, id) => {
    for (const [method, path] of [
      ['GET', `/api/v1/tasks/${id}`],
      ['DELETE', `/api/v1/tasks/${id}`],
      ['GET', `/api/v1/tasks/${id}/logs`],
      ['DELETE', `/api/v1/users/me/api-keys/${id}`],
    ] as const) {
      const answer = await send(method, path, { token });
      expect([400, 404], `${method} ${path.slice(0, 80)}: ${answer.status} ${answer.text.slice(0, 200)}`).toContain(answer.status);
      expect(answer.body?.error?.code).toMatch(/VALIDATION_ERROR|NOT_FOUND|TASK_NOT_FOUND/);
    }
    expect(await snapshot(token)).toEqual(before);
  });

  it.each([
    ['limit=0'],
    ['limit=abc'],
    ['limit=1000000'],
    ['status=everything'],
    ['unknown=1'],
    ['cursor=not-a-cursor'],
    [`cursor=${Buffer.from('{"pk":"TASK#x","sk":"TASK"}').toString('base64url')}`],
    [`cursor=${Buffer.from('{"gsi1pk":"USER#someone-else","gsi1sk":"x","pk":"TASK#x","sk":"TASK"}').toString('base64url')}`],
    [`cursor=${Buffer.from('{"gsi1pk":"USER#hostile-paths","gsi1sk":{"S":"x"},"pk":"TASK#x","sk":"TASK"}').toString('base64url')}`],
    [`cursor=${Buffer.from('{"gsi1pk":"USER#hostile-paths"}').toString('base64url')}`],
  ])('a bad query (%s) on the task list: 400 VALIDATION_ERROR', async (query) => {
    const answer = await send('GET', `/api/v1/tasks?${query}`, { token });
    expectRejected(answer, [400], ['VALIDATION_ERROR']);
  });
});

/** What a valid request body looks like for every POST and PUT route; the fuzzers start from these. */
const VALID_BODIES: Record<string, Record<string, unknown>> = {
  'POST /api/v1/tasks': { title: 'fuzz', description: 'd', priority: 2, input: { k: 'v', n: 1.5 }, estimated_minutes: 5 },
  'POST /api/v1/tasks/estimate': { title: 'estimate', type: 'action', integration: 'gmail', action: 'send', estimated_tokens: 100 },
  'POST /api/v1/tasks/{id}/complete': { status: 'completed', summary: 's', files_changed: ['a.md'] },
  'POST /api/v1/tasks/{id}/rerun': { title: 'again', priority: 1 },
  'POST /api/v1/batches/{id}/rerun-failed': {},
  'POST /api/v1/batches': { name: 'nightly', tasks: [{ title: 't' }] },
  'PUT /api/v1/admin/users/{id}/plan': { plan: 'pro' },
  'PUT /api/v1/admin/users/{id}/limits': { max_pending_tasks: 20, monthly_agent_hours_limit: 10 },
  'PUT /api/v1/spaces/{id}': { name: 'space', members: [], quota: { monthly_limit: 10, weekly_limit: 5 } },
  'POST /api/v1/admin/spaces/{id}/overrides': { credits: 5, reason: 'launch', expires_at: '2099-01-01T00:00:00Z' },
  'POST /api/v1/spaces/{id}/override-requests': { credits: 5, reason: 'launch' },
  'POST /api/v1/admin/override-requests/{id}/decline': { reason: 'not now' },
  'POST /api/v1/executors': { executor_id: 'tauri:fuzz', capabilities: ['gmail.send'], models: [], max_concurrent: 1 },
  'POST /api/v1/executors/{id}/lease': {},
  'POST /api/v1/users/me/api-keys': { name: 'key' },
  'PUT /api/v1/users/me/notifications': { webhooks: [{ url: 'http://127.0.0.1:9/hook', events: ['task.failed'] }], digest_at: '07:00', timezone: 'Europe/Berlin' },
  'PUT /api/v1/projects/{id}': { name: 'project', repo_url: '/srv/repo', default_branch: 'main', push: false, pull_requests: false },
};

const oddString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom('\u0000', '\ud800', '\udc00', '\u202e', '\u200b', '👩‍💻', '#', '/', '..', '"', '\\', '%'), maxLength: 20 }),
  fc.constantFrom('x'.repeat(70_000), '', ' ', 'null', '2030-02-31T00:00:00Z', '9999-12-31T23:59:59Z', 'NaN'),
);
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  oddString,
  fc.jsonValue({ stringUnit: 'binary', maxDepth: 3 }),
  fc.double(),
  fc.integer(),
  fc.constantFrom(1e200, 1e-200, -0, Number.MAX_SAFE_INTEGER + 2, 2 ** 31, -1),
  fc.integer({ min: 1, max: 60 }).map((depth) => JSON.parse(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`)),
  fc.dictionary(oddString, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
);

/** Bodies near a valid one (one field changed, fields dropped or added) and bodies from nowhere. */
function bodyArbitrary(valid: Record<string, unknown>): fc.Arbitrary<string> {
  const keys = [...Object.keys(valid), 'user_id', 'unknown_field', '__proto__', 'id'];
  const changed = fc.tuple(fc.constantFrom(...keys), oddValue).map(([key, value]) => JSON.stringify({ ...valid, [key]: value }));
  const subset = fc.subarray(Object.keys(valid)).map((picked) => JSON.stringify(Object.fromEntries(picked.map((key) => [key, valid[key]]))));
  // Odd values one level down: inside objects (task input, quota) and lists (batch tasks, members).
  const nestedOdd = fc
    .tuple(fc.constantFrom(...Object.keys(valid).concat(['x'])), fc.dictionary(fc.constantFrom('title', 'status', 'name', 'monthly_limit', 'a', ''), oddValue, { maxKeys: 3 }), fc.boolean())
    .map(([key, value, inList]) => JSON.stringify({ ...valid, [key]: inList ? [value] : value }));
  const anyJson = fc.jsonValue({ stringUnit: 'binary', maxDepth: 4 }).map((value) => JSON.stringify(value));
  const rawText = fc.string({ unit: 'binary-ascii', maxLength: 60 });
  return fc.oneof({ arbitrary: changed, weight: 4 }, { arbitrary: subset, weight: 1 }, { arbitrary: nestedOdd, weight: 1 }, { arbitrary: anyJson, weight: 2 }, { arbitrary: rawText, weight: 1 });
}

const WRITE_ROUTES = API_ROUTES.filter((route) => route.method === 'POST' || route.method === 'PUT');

describe('property: generated bodies at every POST and PUT route never get a 5xx, and rejected ones change nothing', () => {
  it('has a valid body for every POST and PUT route of the route table', () => {
    expect(WRITE_ROUTES.map(routeKey).sort()).toEqual(Object.keys(VALID_BODIES).sort());
  });

  it.for(WRITE_ROUTES.map((route, index) => [routeKey(route), route, index] as const))(
    '%s',
    { timeout: 120_000 },
    async ([key, route, index]) => {
      const user = `fuzz-${index}`;
      const token = await quietUser(user);
      const isAdminRoute = route.path.startsWith('/api/v1/admin/');
      const target = `fuzz-target-${index}`;
      const targetToken = await stack.token(target);
      // The callback route needs a task to report on; the reporter holds no valid token.
      const taskId = (await sendJson('POST', '/api/v1/tasks', token, { title: 'reported on' })).body.id as string;
      const pathId = route.path.includes('/admin/users/') ? target : route.path.startsWith('/api/v1/tasks/') ? taskId : `fuzz-thing-${index}`;
      const path = route.path.replace('{id}', pathId);
      // What this route could change, as the caller (or the admin's target) sees it.
      const related: Record<string, string[]> = {
        tasks: ['/api/v1/tasks?limit=100', '/api/v1/tasks/queue-status', `/api/v1/tasks/${taskId}`],
        batches: ['/api/v1/batches', '/api/v1/tasks?limit=100', '/api/v1/tasks/queue-status'],
        spaces: [`/api/v1/spaces/${pathId}/quota`, `/api/v1/spaces/${pathId}/ledger`, `/api/v1/spaces/${pathId}/override-requests`, '/api/v1/tasks?limit=100'],
        executors: ['/api/v1/executors', '/api/v1/tasks?limit=100'],
        users: ['/api/v1/users/me/api-keys', '/api/v1/users/me/limits', '/api/v1/users/me/notifications'],
        projects: ['/api/v1/projects', `/api/v1/projects/${pathId}`],
      };
      const area = route.path.split('/')[route.path.startsWith('/api/v1/admin/') ? 4 : 3] ?? '';
      const paths = isAdminRoute && area === 'users' ? ['/api/v1/users/me/limits', '/api/v1/tasks/queue-status'] : (related[area] ?? ACCOUNT_VIEWS);
      const viewer = isAdminRoute && area === 'users' ? targetToken : token;
      // A space the caller owns, so that an admin's override on it would show in its quota.
      if (area === 'spaces') expect((await sendJson('PUT', `/api/v1/spaces/${pathId}`, token, { name: 'fuzzed space' })).status).toBeLessThan(300);
      const view = () => snapshot(viewer, paths);
      const settled = () => settledSnapshot(viewer, paths);
      let state = await settled();
      const statuses: number[] = [];

      await fc.assert(
        fc.asyncProperty(bodyArbitrary(VALID_BODIES[key] ?? {}), async (body) => {
          const caller = isAdminRoute ? adminToken : route.auth === 'callback' ? 'not-the-callback-token-0123456789' : token;
          const answer = await send(route.method, path, { token: caller, body });
          statuses.push(answer.status);
          expect(answer.status, `${key} ${body.slice(0, 300)} -> ${answer.text.slice(0, 300)}`).toBeLessThan(500);
          if (answer.status >= 400) {
            expect(answer.body?.error?.code, answer.text.slice(0, 300)).toEqual(expect.any(String));
            expect(await view(), `${key} rejected ${body.slice(0, 300)} but state changed`).toEqual(state);
          } else {
            state = await settled();
          }
        }),
        { numRuns: 40 },
      );
      expect(statuses.length).toBeGreaterThanOrEqual(40);
    },
  );
});

/** The path of every number in a body, objects and lists included. */
function numberPaths(value: unknown, path: Array<string | number> = []): Array<Array<string | number>> {
  if (typeof value === 'number') return [path];
  if (value === null || typeof value !== 'object') return [];
  const entries: Array<[string | number, unknown]> = Array.isArray(value) ? value.map((item, i) => [i, item]) : Object.entries(value);
  return entries.flatMap(([key, child]) => numberPaths(child, [...path, key]));
}

function withNumber(body: Record<string, unknown>, path: Array<string | number>, value: number): Record<string, unknown> {
  const copy = structuredClone(body) as any;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key];
  at[path.at(-1)!] = value;
  return copy;
}

// DynamoDB holds numbers from 1e-130 to 1e126 in magnitude; JSON carries more than that.
const UNSTORABLE_NUMBERS = [1e-200, -1e-200, 5e-324, 1e200];

describe('numbers DynamoDB cannot hold, in every number field of every valid body', () => {
  const cases = WRITE_ROUTES.flatMap((route, index) =>
    numberPaths(VALID_BODIES[routeKey(route)]).flatMap((path) => UNSTORABLE_NUMBERS.map((value) => [`${routeKey(route)} ${path.join('.')}=${value}`, route, index, path, value] as const)),
  );

  it('covers a number field of tasks, spaces, overrides and limits', () => {
    expect(cases.map(([name]) => name)).toEqual(
      expect.arrayContaining(['PUT /api/v1/spaces/{id} quota.monthly_limit=1e-200', 'POST /api/v1/tasks estimated_minutes=1e-200', 'PUT /api/v1/admin/users/{id}/limits monthly_agent_hours_limit=1e-200', 'POST /api/v1/spaces/{id}/override-requests credits=1e-200']),
    );
  });

  it.for(cases)('%s: a 4xx with a code and nothing changed, never a 5xx', async ([name, route, index, path, value]) => {
    const user = `numbers-${index}-${path.join('-')}-${String(value).replace(/\W/g, '')}`.slice(0, 100);
    const token = await quietUser(user);
    const isAdminRoute = route.path.startsWith('/api/v1/admin/');
    const taskId = (await sendJson('POST', '/api/v1/tasks', token, { title: 'numbered' })).body.id as string;
    const pathId = route.path.includes('/admin/users/') ? user : route.path.startsWith('/api/v1/tasks/') ? taskId : `${user}-thing`;
    if (route.path.startsWith('/api/v1/spaces/')) expect((await sendJson('PUT', `/api/v1/spaces/${pathId}`, token, { name: 'numbered space' })).status).toBeLessThan(300);
    const before = await settledSnapshot(token);
    const caller = isAdminRoute ? adminToken : route.auth === 'callback' ? 'not-the-callback-token-0123456789' : token;
    const answer = await sendJson(route.method, route.path.replace('{id}', pathId), caller, withNumber(VALID_BODIES[routeKey(route)]!, path, value));
    expect(answer.status, `${name} -> ${answer.text.slice(0, 300)}`).toBeLessThan(500);
    if (answer.status >= 400) {
      expect(answer.body?.error?.code).toEqual(expect.any(String));
      expect(await snapshot(token)).toEqual(before);
    }
  });
});

describe('property: generated path parameters and queries never get a 5xx', () => {
  const ID_ROUTES = API_ROUTES.filter((route) => route.path.includes('{id}'));

  it('on every route with an id', { timeout: 120_000 }, async () => {
    const token = await quietUser('fuzz-paths');
    const state = await settledSnapshot(token);
    const idString = fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }).map(encodeURIComponent),
      fc.string({ unit: fc.constantFrom('%', '%2F', '%2e', '..', '#', '?', '%00', '%ZZ', 'a'), minLength: 1, maxLength: 10 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ID_ROUTES), idString, async (route, id) => {
        const path = route.path.replace('{id}', id);
        const answer = await send(route.method, path, { token, body: route.method === 'POST' || route.method === 'PUT' ? '{}' : undefined });
        expect(answer.status, `${route.method} ${path.slice(0, 200)} -> ${answer.text.slice(0, 300)}`).toBeLessThan(500);
        if (answer.status >= 400) expect(await snapshot(token)).toEqual(state);
      }),
      { numRuns: 80 },
    );
  });

  /** A real next-page cursor of a listing, decoded, so forgeries start from the true key shape. */
  async function realCursor(token: string, path: string): Promise<Record<string, unknown>> {
    const response = await fetch(`${stack.url}${path}${path.includes('?') ? '&' : '?'}limit=1`, { headers: { authorization: `Bearer ${token}` } });
    const cursor = response.headers.get('x-next-cursor') ?? ((await response.json()) as any)?.next_cursor;
    return cursor ? JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) : { pk: 'X', sk: 'Y', gsi1pk: 'Z', gsi1sk: 'W' };
  }

  /** Cursors made from a real one: attributes dropped, retyped or added. */
  const forgedCursor = (real: Record<string, unknown>) =>
    fc
      .tuple(fc.subarray(Object.keys(real)), fc.dictionary(fc.constantFrom(...Object.keys(real), 'x'), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }))
      .map(([kept, changed]) => Buffer.from(JSON.stringify({ ...Object.fromEntries(kept.map((key) => [key, real[key]])), ...changed })).toString('base64url'));

  const odd = fc.string({ unit: 'binary', maxLength: 30 });
  const LISTINGS = [
    { name: 'tasks', path: '/api/v1/tasks', statuses: ['pending', 'running', 'completed'] },
    { name: 'batches', path: '/api/v1/batches', statuses: [] },
    { name: 'a space ledger', path: '/api/v1/spaces/fuzz-ledger-space/ledger', statuses: [] },
    { name: 'spaces', path: '/api/v1/spaces', statuses: [] },
  ];

  it.for(LISTINGS)('on the query of the $name listing', { timeout: 60_000 }, async (listing) => {
    const token = await quietUser(`fuzz-query-${listing.name.replace(/\W/g, '-')}`);
    // Two of each thing, so the listing has a second page and a real cursor.
    for (let i = 0; i < 2; i++) {
      await sendJson('POST', '/api/v1/tasks', token, { title: `t${i}` });
      await sendJson('POST', '/api/v1/batches', token, { name: `b${i}`, tasks: [{ title: 'bt' }], not_before: '2099-01-01T00:00:00Z' });
      await sendJson('PUT', `/api/v1/spaces/fuzz-own-${listing.name.replace(/\W/g, '-')}-${i}`, token, { name: `own ${i}` });
    }
    await sendJson('PUT', '/api/v1/spaces/fuzz-ledger-space', token, { name: 'ledger space' });
    const real = await realCursor(token, listing.path);
    // Mostly valid status and limit, so that odd cursors get as far as the store.
    const query = fc
      .record(
        {
          status: listing.statuses.length > 0 ? fc.oneof({ arbitrary: fc.constantFrom(...listing.statuses), weight: 4 }, { arbitrary: odd, weight: 1 }) : fc.constant(undefined),
          limit: fc.oneof({ arbitrary: fc.constantFrom('1', '5', '100'), weight: 4 }, { arbitrary: fc.oneof(fc.constantFrom('0', '-1', '1e3', '2.5'), odd), weight: 1 }),
          cursor: fc.oneof({ arbitrary: forgedCursor(real), weight: 4 }, { arbitrary: odd, weight: 1 }),
          unknown: odd,
        },
        { requiredKeys: [] },
      )
      .filter((params) => params.unknown === undefined || params.cursor === undefined);
    await fc.assert(
      fc.asyncProperty(query, async (params) => {
        const defined = Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined);
        const answer = await send('GET', `${listing.path}?${new URLSearchParams(defined).toString()}`, { token });
        expect(answer.status, `${JSON.stringify(params)} -> ${answer.text.slice(0, 300)}`).toBeLessThan(500);
      }),
      { numRuns: 40 },
    );
  });
});
