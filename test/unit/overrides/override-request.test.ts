import { describe, expect, it } from 'vitest';
import { decideRequest, mergeNewestFirst, newOverrideRequest, OverrideRequestDecidedError, type OverrideRequest } from '../../../src/overrides/override-request.js';
import { adminOverrideRequestListQuerySchema, overrideRequestCreateSchema, overrideRequestDeclineSchema } from '../../../src/overrides/schemas.js';

const NOW = new Date('2026-10-26T22:00:00.000Z');
const pending = (id: string, createdAt = NOW): OverrideRequest =>
  newOverrideRequest({ request_id: id, space_id: 'research', quota_space_id: 'research', user_id: 'alice', credits: 50, reason: 'launch week' }, createdAt);

describe('deciding an override request', () => {
  it('starts pending with nothing decided', () => {
    expect(pending('a')).toMatchObject({ status: 'pending', created_at: NOW.toISOString(), decided_at: null, decided_by: null, decision_reason: null, override_id: null });
  });

  it.each([
    ['granted', 'override:1', null],
    ['declined', undefined, 'no budget left'],
  ] as const)('can be %s once, naming who decided and when', (status, overrideId, reason) => {
    const at = new Date(NOW.getTime() + 60_000);
    const decided = decideRequest(pending('a'), { status, by: 'ops', reason, at, overrideId });
    expect(decided).toMatchObject({ status, decided_by: 'ops', decided_at: at.toISOString(), decision_reason: reason, override_id: overrideId ?? null });
    expect(() => decideRequest(decided, { status: 'declined', by: 'other-admin', reason: null, at })).toThrow(OverrideRequestDecidedError);
    expect(() => decideRequest(decided, { status: 'granted', by: 'other-admin', reason: null, at })).toThrow(/already/);
  });

  it('answers a second decision with the stable code OVERRIDE_REQUEST_DECIDED', () => {
    const declined = decideRequest(pending('a'), { status: 'declined', by: 'ops', reason: null, at: NOW });
    expect(() => decideRequest(declined, { status: 'granted', by: 'ops', reason: null, at: NOW })).toThrow(expect.objectContaining({ code: 'OVERRIDE_REQUEST_DECIDED' }));
  });
});

describe('merging listings newest first', () => {
  const at = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000);
  it('interleaves pages by creation time and says whether more are left', () => {
    const pendingPage = [pending('p3', at(3)), pending('p1', at(1))];
    const declinedPage = [pending('d2', at(2)), pending('d0', at(0))];
    expect(mergeNewestFirst([pendingPage, declinedPage], 3).requests.map((r) => r.request_id)).toEqual(['p3', 'd2', 'p1']);
    expect(mergeNewestFirst([pendingPage, declinedPage], 3).more).toBe(true);
    expect(mergeNewestFirst([pendingPage, declinedPage], 4).more).toBe(false);
    expect(mergeNewestFirst([[], []], 5)).toEqual({ requests: [], more: false });
  });
});

describe('override request input', () => {
  it.each([
    [{ credits: 0, reason: 'x' }, 'credits'],
    [{ credits: -5, reason: 'x' }, 'credits'],
    [{ credits: 1.23456, reason: 'x' }, 'credits'],
    [{ credits: '5', reason: 'x' }, 'credits'],
    [{ credits: 5, reason: '' }, 'reason'],
    [{ credits: 5, reason: '   ' }, 'reason'],
    [{ credits: 5, reason: 'x'.repeat(1001) }, 'reason'],
    [{ credits: 5 }, 'reason'],
    [{ credits: 5, reason: 'x', status: 'granted' }, ''],
  ])('rejects %j (%s)', (body, field) => {
    const result = overrideRequestCreateSchema.safeParse(body);
    expect(result.success).toBe(false);
    if (field) expect(result.error?.issues.some((issue) => issue.path[0] === field)).toBe(true);
  });

  it('accepts credits with up to 4 decimals and a trimmed reason', () => {
    expect(overrideRequestCreateSchema.parse({ credits: 12.5, reason: '  launch  ' })).toEqual({ credits: 12.5, reason: 'launch' });
  });

  it('takes an optional decline reason and a status filter of the three statuses only', () => {
    expect(overrideRequestDeclineSchema.parse({})).toEqual({});
    expect(overrideRequestDeclineSchema.safeParse({ reason: '' }).success).toBe(false);
    expect(adminOverrideRequestListQuerySchema.parse({ status: 'pending', limit: '10' })).toEqual({ status: 'pending', limit: 10 });
    expect(adminOverrideRequestListQuerySchema.safeParse({ status: 'open' }).success).toBe(false);
  });
});
