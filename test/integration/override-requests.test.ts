import { beforeEach, describe, expect, it } from 'vitest';
import { getSpaceLedger, getSpaceQuota, grantOverride, putSpace, type Caller } from '../../src/spaces/spaces.js';
import { declineOverrideRequest, listOverrideRequests, listSpaceOverrideRequests, requestOverride } from '../../src/overrides/override-requests.js';
import { getOverrideRequest } from '../../src/overrides/override-request-store.js';
import { createTask } from '../../src/tasks/create-task.js';
import { claimNextTasks } from '../../src/scheduling/claim.js';
import { creditChargeItems, OVER_QUOTA_BADGE } from '../../src/credits/charges.js';
import { updateUserAccount } from '../../src/accounts/limits.js';
import { getTask } from '../../src/tasks/task-store.js';
import { taskCreateSchema } from '../../src/tasks/schemas.js';
import { personalSpaceId } from '../../src/credits/quota-windows.js';
import { useFreshTable } from '../support/local-env.js';

let n = 0;
const unique = (name: string) => `${name}-${++n}-${Date.now()}`;
const ADMIN: Caller = { userId: 'ops-admin', isAdmin: true };
const as = (userId: string): Caller => ({ userId, isAdmin: false });
const T0 = new Date();
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const inADay = () => at(86_400).toISOString();

/** A space with a monthly hard limit, its owner and one member. */
async function limitedSpace(monthlyLimit = 10) {
  const owner = unique('owner');
  const member = unique('member');
  const spaceId = unique('team');
  await putSpace(as(owner), spaceId, { members: [member], quota: { monthly_limit: monthlyLimit } }, T0);
  return { owner, member, spaceId };
}

const ids = (page: { override_requests: Array<{ request_id: string }> }) => page.override_requests.map((r) => r.request_id);

beforeEach(async () => {
  await useFreshTable();
});

describe('asking for an override', () => {
  it('records a pending request from a member, lists it newest first and logs it in the ledger', async () => {
    // Prepare
    const { owner, member, spaceId } = await limitedSpace();

    // Act
    const first = await requestOverride(as(member), spaceId, { credits: 20, reason: 'launch week' }, at(1));
    const second = await requestOverride(as(owner), spaceId, { credits: 5, reason: 'one more eval' }, at(2));

    // Assess
    expect(first).toEqual({
      request_id: expect.any(String),
      space_id: spaceId,
      user_id: member,
      credits: 20,
      reason: 'launch week',
      status: 'pending',
      created_at: at(1).toISOString(),
      decided_at: null,
      decided_by: null,
      decision_reason: null,
      override_id: null,
    });
    expect(ids(await listSpaceOverrideRequests(as(member), spaceId, { limit: 50 }))).toEqual([second.request_id, first.request_id]);
    const ledger = await getSpaceLedger(as(owner), spaceId, { limit: 50 }, at(3));
    expect(ledger.entries).toEqual([
      expect.objectContaining({ reason: 'override_request', actor: owner, credits: 5, note: 'one more eval', request_id: second.request_id }),
      expect.objectContaining({ reason: 'override_request', actor: member, credits: 20, note: 'launch week', request_id: first.request_id }),
    ]);
    // Asking moves no counter and raises no cap.
    expect(await getSpaceQuota(as(owner), spaceId, at(3))).toMatchObject({ monthly: { used: 0, limit: 10, override_credits: 0 } });
  });

  it('is 404 SPACE_NOT_FOUND for a user who cannot use the space or a space that does not exist, and writes nothing', async () => {
    const { owner, spaceId } = await limitedSpace();
    const outsider = unique('outsider');
    await expect(requestOverride(as(outsider), spaceId, { credits: 1, reason: 'please' })).rejects.toMatchObject({ code: 'SPACE_NOT_FOUND' });
    await expect(requestOverride(as(outsider), unique('nowhere'), { credits: 1, reason: 'please' })).rejects.toMatchObject({ code: 'SPACE_NOT_FOUND' });
    await expect(requestOverride(as(outsider), personalSpaceId(owner), { credits: 1, reason: 'please' })).rejects.toMatchObject({ code: 'SPACE_NOT_FOUND' });
    await expect(listSpaceOverrideRequests(as(outsider), spaceId, { limit: 50 })).rejects.toMatchObject({ code: 'SPACE_NOT_FOUND' });
    expect((await listSpaceOverrideRequests(as(owner), spaceId, { limit: 50 })).override_requests).toEqual([]);
    expect((await getSpaceLedger(as(owner), spaceId, { limit: 50 })).entries).toEqual([]);
  });

  it('is 400 for a space with nothing to override: a personal space, or one without a monthly limit', async () => {
    const user = unique('solo');
    const unlimited = unique('open');
    await putSpace(as(user), unlimited, { quota: { weekly_limit: 5 } }, T0);
    await expect(requestOverride(as(user), personalSpaceId(user), { credits: 1, reason: 'x' })).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    await expect(requestOverride(as(user), unlimited, { credits: 1, reason: 'x' })).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    expect((await listSpaceOverrideRequests(as(user), unlimited, { limit: 50 })).override_requests).toEqual([]);
  });

  it("shows a sub-space's request in its own ledger and in the ledger of the parent whose quota it draws from", async () => {
    const { owner, spaceId: parent } = await limitedSpace();
    const child = unique('child');
    await putSpace(as(owner), child, { parent_id: parent }, T0);
    const request = await requestOverride(as(owner), child, { credits: 3, reason: 'child work' }, at(1));
    for (const spaceId of [child, parent]) {
      const ledger = await getSpaceLedger(as(owner), spaceId, { limit: 50 }, at(2));
      expect(ledger.entries).toEqual([expect.objectContaining({ reason: 'override_request', space_id: parent, task_space_id: child, request_id: request.request_id })]);
    }
    expect(ids(await listSpaceOverrideRequests(as(owner), child, { limit: 50 }))).toEqual([request.request_id]);
    expect(ids(await listSpaceOverrideRequests(as(owner), parent, { limit: 50 }))).toEqual([]);
  });
});

describe("admins' queue", () => {
  it('lists requests of every space by status or all, newest first, a page at a time', async () => {
    // Prepare: three requests in two spaces; one declined.
    const a = await limitedSpace();
    const b = await limitedSpace();
    const r1 = await requestOverride(as(a.owner), a.spaceId, { credits: 1, reason: 'one' }, at(1));
    const r2 = await requestOverride(as(b.member), b.spaceId, { credits: 2, reason: 'two' }, at(2));
    const r3 = await requestOverride(as(a.member), a.spaceId, { credits: 3, reason: 'three' }, at(3));
    await declineOverrideRequest(ADMIN, r2.request_id, { reason: 'not this month' }, at(4));

    // Act + Assess
    expect(ids(await listOverrideRequests(ADMIN, { status: 'pending', limit: 50 }))).toEqual([r3.request_id, r1.request_id]);
    expect(ids(await listOverrideRequests(ADMIN, { status: 'declined', limit: 50 }))).toEqual([r2.request_id]);
    expect(ids(await listOverrideRequests(ADMIN, { status: 'granted', limit: 50 }))).toEqual([]);
    const firstPage = await listOverrideRequests(ADMIN, { limit: 2 });
    expect(ids(firstPage)).toEqual([r3.request_id, r2.request_id]);
    expect(firstPage.next_cursor).toEqual(expect.any(String));
    const secondPage = await listOverrideRequests(ADMIN, { limit: 2, cursor: firstPage.next_cursor ?? undefined });
    expect(secondPage).toMatchObject({ next_cursor: null });
    expect(ids(secondPage)).toEqual([r1.request_id]);
    const spacePage = await listSpaceOverrideRequests(as(a.owner), a.spaceId, { limit: 1 });
    expect(ids(spacePage)).toEqual([r3.request_id]);
    expect(ids(await listSpaceOverrideRequests(as(a.owner), a.spaceId, { limit: 1, cursor: spacePage.next_cursor ?? undefined }))).toEqual([r1.request_id]);
  });

  it('is 403 for a user who is not an admin, and a forged cursor is 400', async () => {
    const { owner } = await limitedSpace();
    await expect(listOverrideRequests(as(owner), { limit: 50 })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(listOverrideRequests(ADMIN, { limit: 50, cursor: Buffer.from('SPACE#x').toString('base64url') })).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
  });
});

describe('declining', () => {
  it('marks the request declined once, logs it, and a second decision is 409', async () => {
    const { owner, spaceId } = await limitedSpace();
    const request = await requestOverride(as(owner), spaceId, { credits: 4, reason: 'more please' }, at(1));

    const declined = await declineOverrideRequest(ADMIN, request.request_id, { reason: 'budget spent' }, at(2));

    expect(declined).toMatchObject({ status: 'declined', decided_at: at(2).toISOString(), decided_by: ADMIN.userId, decision_reason: 'budget spent' });
    expect(await listSpaceOverrideRequests(as(owner), spaceId, { limit: 50 })).toMatchObject({ override_requests: [{ status: 'declined' }] });
    const ledger = await getSpaceLedger(as(owner), spaceId, { limit: 50 }, at(3));
    expect(ledger.entries[0]).toMatchObject({ reason: 'override_declined', actor: ADMIN.userId, note: 'budget spent', request_id: request.request_id });
    await expect(declineOverrideRequest(ADMIN, request.request_id, {}, at(4))).rejects.toMatchObject({ code: 'OVERRIDE_REQUEST_DECIDED' });
    await expect(
      grantOverride(ADMIN, spaceId, { credits: 4, reason: 'changed my mind', expires_at: inADay(), request_id: request.request_id }, at(5)),
    ).rejects.toMatchObject({ code: 'OVERRIDE_REQUEST_DECIDED' });
    // The refused grant raised nothing.
    expect(await getSpaceQuota(as(owner), spaceId, at(6))).toMatchObject({ monthly: { override_credits: 0 } });
  });

  it('is 404 OVERRIDE_REQUEST_NOT_FOUND for an unknown request and 403 for a non-admin, changing nothing', async () => {
    const { owner, spaceId } = await limitedSpace();
    const request = await requestOverride(as(owner), spaceId, { credits: 4, reason: 'more please' }, at(1));
    await expect(declineOverrideRequest(ADMIN, 'no-such-request', {})).rejects.toMatchObject({ code: 'OVERRIDE_REQUEST_NOT_FOUND' });
    await expect(declineOverrideRequest(as(owner), request.request_id, {})).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await getOverrideRequest(request.request_id)).toMatchObject({ status: 'pending', decided_by: null });
  });
});

describe('granting through the overrides endpoint', () => {
  it('marks the request granted with the override, and the blocked task runs', async () => {
    // Prepare: a space whose 1-credit limit is spent; the member's next task is blocked.
    const { owner, member, spaceId } = await limitedSpace(1);
    await updateUserAccount(member, (user) => ({ ...user, plan: 'team' }), 'test');
    const gmail = taskCreateSchema.parse({ title: 'Send', type: 'action', integration: 'gmail', action: 'send', execution_preference: 'remote', space_id: spaceId });
    await createTask(member, gmail, at(1));
    await claimNextTasks({ now: () => at(2), chargeItems: creditChargeItems });
    const blocked = await createTask(member, gmail, at(3));
    expect(blocked.blocked_reason).toBe(OVER_QUOTA_BADGE);
    const request = await requestOverride(as(member), spaceId, { credits: 1, reason: 'one more send' }, at(4));

    // Act
    const override = await grantOverride(ADMIN, spaceId, { credits: 1, reason: 'approved', expires_at: inADay(), request_id: request.request_id }, at(5));
    await claimNextTasks({ now: () => at(6), chargeItems: creditChargeItems });

    // Assess
    expect(override).toMatchObject({ request_id: request.request_id, credits: 1 });
    expect(await listSpaceOverrideRequests(as(member), spaceId, { limit: 50 })).toMatchObject({
      override_requests: [{ request_id: request.request_id, status: 'granted', decided_by: ADMIN.userId, decided_at: at(5).toISOString(), decision_reason: 'approved', override_id: override.id }],
    });
    expect(ids(await listOverrideRequests(ADMIN, { status: 'granted', limit: 50 }))).toEqual([request.request_id]);
    expect(await getTask(blocked.id)).toMatchObject({ status: 'claimed', blocked_reason: null });
    const ledger = await getSpaceLedger(as(owner), spaceId, { limit: 50 }, at(7));
    expect(ledger.entries.find((entry) => entry.reason === 'override')).toMatchObject({ id: override.id, actor: ADMIN.userId, request_id: request.request_id });
    await expect(
      grantOverride(ADMIN, spaceId, { credits: 1, reason: 'again', expires_at: inADay(), request_id: request.request_id }, at(8)),
    ).rejects.toMatchObject({ code: 'OVERRIDE_REQUEST_DECIDED' });
  });

  it("refuses a request of another space or an unknown one, and grants nothing then", async () => {
    const a = await limitedSpace();
    const b = await limitedSpace();
    const request = await requestOverride(as(a.owner), a.spaceId, { credits: 2, reason: 'a needs it' }, at(1));
    await expect(grantOverride(ADMIN, b.spaceId, { credits: 2, reason: 'x', expires_at: inADay(), request_id: request.request_id }, at(2))).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
    });
    await expect(grantOverride(ADMIN, a.spaceId, { credits: 2, reason: 'x', expires_at: inADay(), request_id: 'unknown' }, at(2))).rejects.toMatchObject({
      code: 'OVERRIDE_REQUEST_NOT_FOUND',
    });
    expect(await getSpaceQuota(as(b.owner), b.spaceId, at(3))).toMatchObject({ monthly: { override_credits: 0 } });
    expect(await getSpaceQuota(as(a.owner), a.spaceId, at(3))).toMatchObject({ monthly: { override_credits: 0 } });
    expect(await getOverrideRequest(request.request_id)).toMatchObject({ status: 'pending' });
  });

  it('lets exactly one of two concurrent decisions win', async () => {
    const { spaceId, owner } = await limitedSpace();
    const request = await requestOverride(as(owner), spaceId, { credits: 2, reason: 'race' }, at(1));
    const outcomes = await Promise.allSettled([
      grantOverride(ADMIN, spaceId, { credits: 2, reason: 'yes', expires_at: inADay(), request_id: request.request_id }, at(2)),
      declineOverrideRequest({ userId: 'other-admin', isAdmin: true }, request.request_id, { reason: 'no' }, at(2)),
    ]);
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.find((outcome) => outcome.status === 'rejected')).toMatchObject({ reason: expect.objectContaining({ code: 'OVERRIDE_REQUEST_DECIDED' }) });
    const stored = await getOverrideRequest(request.request_id);
    const quota = await getSpaceQuota(as(owner), spaceId, at(3));
    expect(quota.monthly.override_credits).toBe(stored?.status === 'granted' ? 2 : 0);
  });
});
