import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestStack } from '../support/local-env.js';

type Stack = Awaited<ReturnType<typeof startTestStack>>;
let stack: Stack;
let admin: string;
let alice: string;

async function call(token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as any };
}

const gmailSend = { title: 'Send the weekly update', type: 'action', integration: 'gmail', action: 'send', execution_preference: 'remote', space_id: 'launch' };
const inADay = () => new Date(Date.now() + 86_400_000).toISOString();

beforeAll(async () => {
  stack = await startTestStack({ SANDBOX_COMMAND: 'echo sent' });
  admin = await stack.token('ops-admin', true);
  alice = await stack.token('alice');
  await call(admin, 'PUT', '/api/v1/admin/users/alice/plan', { plan: 'team' });
  await call(alice, 'PUT', '/api/v1/spaces/launch', { name: 'Launch', members: ['bob'], quota: { monthly_limit: 1 } });
}, 60_000);
afterAll(async () => stack?.stop());

describe('override requests over HTTP', () => {
  it('lets a user at the hard limit ask, an admin grant the request through the overrides endpoint, and the blocked task run', async () => {
    // Prepare: the 1-credit limit is spent, the next task waits.
    await call(alice, 'POST', '/api/v1/tasks', gmailSend);
    await eventually(async () => (await call(alice, 'GET', '/api/v1/spaces/launch/quota')).body.status === 'BLOCKED', 20_000, 'the limit to be reached');
    const blocked = await call(alice, 'POST', '/api/v1/tasks', gmailSend);
    expect(blocked.body).toMatchObject({ status: 'pending', blocked_reason: 'Blocked (over quota)' });

    // Act: alice asks
    const asked = await call(alice, 'POST', '/api/v1/spaces/launch/override-requests', { credits: 1, reason: 'One more weekly update' });

    // Assess: pending, listed for her and for admins, and in the ledger
    expect(asked.status).toBe(201);
    expect(asked.body).toMatchObject({ space_id: 'launch', user_id: 'alice', credits: 1, status: 'pending', decided_at: null, decided_by: null, decision_reason: null });
    const requestId: string = asked.body.request_id;
    expect((await call(alice, 'GET', '/api/v1/spaces/launch/override-requests')).body).toEqual({ override_requests: [asked.body], next_cursor: null });
    expect((await call(admin, 'GET', '/api/v1/admin/override-requests?status=pending')).body.override_requests).toEqual(
      expect.arrayContaining([expect.objectContaining({ request_id: requestId })]),
    );
    expect((await call(alice, 'GET', '/api/v1/spaces/launch/ledger')).body.entries[0]).toMatchObject({ reason: 'override_request', actor: 'alice', request_id: requestId });

    // Act: an admin grants it
    const granted = await call(admin, 'POST', '/api/v1/admin/spaces/launch/overrides', { credits: 1, reason: 'Approved', expires_at: inADay(), request_id: requestId });

    // Assess
    expect(granted.status).toBe(201);
    expect(granted.body).toMatchObject({ request_id: requestId, credits: 1, actor: 'ops-admin' });
    const mine = (await call(alice, 'GET', '/api/v1/spaces/launch/override-requests')).body.override_requests;
    expect(mine).toEqual([expect.objectContaining({ request_id: requestId, status: 'granted', decided_by: 'ops-admin', decision_reason: 'Approved' })]);
    await eventually(async () => (await call(alice, 'GET', `/api/v1/tasks/${blocked.body.id}`)).body.status !== 'pending', 20_000, 'the blocked task to start');
    const again = await call(admin, 'POST', '/api/v1/admin/spaces/launch/overrides', { credits: 1, reason: 'twice', expires_at: inADay(), request_id: requestId });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('OVERRIDE_REQUEST_DECIDED');
    expect((await call(alice, 'GET', '/api/v1/spaces/launch/quota')).body.monthly.override_credits).toBe(1);
  });

  it('lets an admin decline a request once', async () => {
    const bob = await stack.token('bob');
    const asked = await call(bob, 'POST', '/api/v1/spaces/launch/override-requests', { credits: 25, reason: 'A big eval run' });
    expect(asked.status).toBe(201);

    const declined = await call(admin, 'POST', `/api/v1/admin/override-requests/${asked.body.request_id}/decline`, { reason: 'Too much this month' });

    expect(declined.status).toBe(200);
    expect(declined.body).toMatchObject({ request_id: asked.body.request_id, status: 'declined', decided_by: 'ops-admin', decision_reason: 'Too much this month' });
    const twice = await call(admin, 'POST', `/api/v1/admin/override-requests/${asked.body.request_id}/decline`, {});
    expect([twice.status, twice.body.error.code]).toEqual([409, 'OVERRIDE_REQUEST_DECIDED']);
    const all = (await call(admin, 'GET', '/api/v1/admin/override-requests')).body.override_requests;
    expect(all[0]).toMatchObject({ request_id: asked.body.request_id, status: 'declined' });
    expect((await call(admin, 'GET', '/api/v1/admin/override-requests?status=declined&limit=1')).body).toMatchObject({
      override_requests: [{ request_id: asked.body.request_id }],
    });
    const unknown = await call(admin, 'POST', '/api/v1/admin/override-requests/no-such-request/decline', {});
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'OVERRIDE_REQUEST_NOT_FOUND']);
  });

  it.each([
    ['a non-member asking', 'mallory', 'POST', '/api/v1/spaces/launch/override-requests', { credits: 1, reason: 'me too' }, 404, 'SPACE_NOT_FOUND'],
    ['a non-member listing', 'mallory', 'GET', '/api/v1/spaces/launch/override-requests', undefined, 404, 'SPACE_NOT_FOUND'],
    ['a non-admin reading the queue', 'alice', 'GET', '/api/v1/admin/override-requests', undefined, 403, 'FORBIDDEN'],
    ['a non-admin declining', 'alice', 'POST', '/api/v1/admin/override-requests/whatever/decline', {}, 403, 'FORBIDDEN'],
    ['no credits', 'alice', 'POST', '/api/v1/spaces/launch/override-requests', { reason: 'x' }, 400, 'VALIDATION_ERROR'],
    ['zero credits', 'alice', 'POST', '/api/v1/spaces/launch/override-requests', { credits: 0, reason: 'x' }, 400, 'VALIDATION_ERROR'],
    ['an empty reason', 'alice', 'POST', '/api/v1/spaces/launch/override-requests', { credits: 3, reason: '' }, 400, 'VALIDATION_ERROR'],
    ['a reason of 1001 characters', 'alice', 'POST', '/api/v1/spaces/launch/override-requests', { credits: 3, reason: 'x'.repeat(1001) }, 400, 'VALIDATION_ERROR'],
    ['an unknown field', 'alice', 'POST', '/api/v1/spaces/launch/override-requests', { credits: 3, reason: 'x', status: 'granted' }, 400, 'VALIDATION_ERROR'],
    ['a personal space', 'alice', 'POST', '/api/v1/spaces/personal:alice/override-requests', { credits: 3, reason: 'x' }, 400, 'VALIDATION_ERROR'],
    ['an unknown status', 'ops-admin', 'GET', '/api/v1/admin/override-requests?status=open', undefined, 400, 'VALIDATION_ERROR'],
    ['a forged cursor', 'ops-admin', 'GET', '/api/v1/admin/override-requests?cursor=bm9wZQ', undefined, 400, 'VALIDATION_ERROR'],
  ])('%s (%s: %s %s %j) is %i %s and changes nothing', async (_what, user, method, path, body, status, code) => {
    const token = await stack.token(user, user === 'ops-admin');
    const before = (await call(admin, 'GET', '/api/v1/admin/override-requests')).body.override_requests;

    const answer = await call(token, method, path, body);

    expect([answer.status, answer.body.error.code]).toEqual([status, code]);
    expect((await call(admin, 'GET', '/api/v1/admin/override-requests')).body.override_requests).toEqual(before);
  });
});
