import { describe, expect, it } from 'vitest';
import {
  activeOverrideCredits,
  canCharge,
  canEverCharge,
  monthlyWindow,
  quotaStatus,
  resolveEffectiveQuotaSpace,
  SpaceHierarchyError,
  weeklyWindow,
  wouldCreateCycle,
  type QuotaOverride,
  type QuotaSpace,
  type QuotaStatusInput,
  type QuotaUsage,
} from '../../../src/credits/quota-windows.js';

const at = (iso: string): Date => new Date(iso);

describe('weeklyWindow', () => {
  it.each<[string, string, number | undefined, string, string, string]>([
    ['Monday, Sunday reset (default)', '2026-11-23T10:00:00Z', undefined, '2026-11-22', '2026-11-29', 'W2026-11-22'],
    ['Sunday at midnight starts a new week', '2026-11-22T00:00:00Z', 0, '2026-11-22', '2026-11-29', 'W2026-11-22'],
    ['Saturday just before midnight', '2026-11-28T23:59:59.999Z', 0, '2026-11-22', '2026-11-29', 'W2026-11-22'],
    ['Monday reset, on Monday', '2026-11-23T10:00:00Z', 1, '2026-11-23', '2026-11-30', 'W2026-11-23'],
    ['Monday reset, on Sunday', '2026-11-22T10:00:00Z', 1, '2026-11-16', '2026-11-23', 'W2026-11-16'],
    ['Saturday reset, across the new year', '2027-01-01T08:00:00Z', 6, '2026-12-26', '2027-01-02', 'W2026-12-26'],
  ])('%s', (_name, now, resetDay, start, end, key) => {
    // Act
    const window = weeklyWindow(at(now), resetDay);

    // Assess
    expect(window).toEqual({ start: at(`${start}T00:00:00Z`), end: at(`${end}T00:00:00Z`), key });
  });

  it.each([[-1], [7], [1.5]])('rejects reset day %d', (resetDay) => {
    expect(() => weeklyWindow(at('2026-11-23T00:00:00Z'), resetDay)).toThrow(RangeError);
  });
});

describe('monthlyWindow', () => {
  it.each<[string, string, number | undefined, string, string]>([
    ['1st (default)', '2026-11-23T10:00:00Z', undefined, '2026-11-01', '2026-12-01'],
    ['15th, the day before', '2026-11-14T23:59:59Z', 15, '2026-10-15', '2026-11-15'],
    ['15th, across the new year', '2027-01-05T00:00:00Z', 15, '2026-12-15', '2027-01-15'],
    ['31st in mid-February: clamped to 28 February', '2026-02-15T12:00:00Z', 31, '2026-01-31', '2026-02-28'],
    ['31st on 28 February: the clamped reset has come', '2026-02-28T00:00:00Z', 31, '2026-02-28', '2026-03-31'],
    ['31st in a leap year', '2028-02-29T06:00:00Z', 31, '2028-02-29', '2028-03-31'],
    ['31st in April (30 days)', '2026-04-30T01:00:00Z', 31, '2026-04-30', '2026-05-31'],
    ['30th early in March', '2026-03-01T00:00:00Z', 30, '2026-02-28', '2026-03-30'],
  ])('reset day %s', (_name, now, resetDay, start, end) => {
    // Act
    const window = monthlyWindow(at(now), resetDay);

    // Assess
    expect(window).toEqual({ start: at(`${start}T00:00:00Z`), end: at(`${end}T00:00:00Z`), key: `M${start}` });
  });

  it.each([[0], [32], [2.5]])('rejects reset day %d', (resetDay) => {
    expect(() => monthlyWindow(at('2026-11-23T00:00:00Z'), resetDay)).toThrow(RangeError);
  });
});

describe('quotaStatus', () => {
  const base: QuotaStatusInput = { weeklyUsed: 0, weeklyLimit: 250, monthlyUsed: 0, monthlyLimit: 1000 };

  it.each<[string, Partial<QuotaStatusInput>, 'OK' | 'WARNING' | 'BLOCKED', string]>([
    ['plenty left', { weeklyUsed: 130, monthlyUsed: 250 }, 'OK', '120 credits remaining this week'],
    ['79.9 % of the weekly limit', { weeklyUsed: 199.75 }, 'OK', '50.25 credits remaining this week'],
    ['exactly 80 % of the weekly limit', { weeklyUsed: 200 }, 'WARNING', 'Weekly soft limit nearly reached: 50 credits remaining this week; tasks still run'],
    ['the weekly limit used up (soft: never blocks)', { weeklyUsed: 300, monthlyUsed: 300 }, 'WARNING', 'Weekly soft limit of 250 credits used up; tasks still run'],
    ['one credit left this week', { weeklyUsed: 249 }, 'WARNING', '1 credit remaining this week'],
    ['the monthly limit reached', { weeklyUsed: 10, monthlyUsed: 1000 }, 'BLOCKED', 'Monthly credit limit reached: tasks that cost credits wait until the quota resets'],
    ['the monthly limit passed', { monthlyUsed: 1000.5 }, 'BLOCKED', 'Monthly credit limit reached'],
    ['the monthly limit reached, with an override', { monthlyUsed: 1000, overrideCredits: 50 }, 'OK', '250 credits remaining this week'],
    ['the override used up too', { monthlyUsed: 1050, overrideCredits: 50 }, 'BLOCKED', 'Monthly credit limit reached'],
    ['a charge that would pass the limit', { monthlyUsed: 998, charge: 5 }, 'BLOCKED', 'This task needs 5 credits but only 2 credits remain this month'],
    ['a charge that just fits', { monthlyUsed: 998, charge: 2 }, 'OK', '250 credits remaining this week'],
    ['no weekly limit', { weeklyLimit: null, monthlyUsed: 250 }, 'OK', '750 credits remaining this month'],
    ['no limits at all', { weeklyLimit: null, monthlyLimit: null, monthlyUsed: 5000 }, 'OK', 'No credit limit'],
    [
      'the reset date, when known',
      { monthlyUsed: 1000, monthlyResetsAt: at('2026-12-01T00:00:00Z') },
      'BLOCKED',
      'resets on 2026-12-01 or an admin grants an override',
    ],
  ])('%s -> %s', (_name, overrides, status, message) => {
    // Prepare
    const input = { ...base, ...overrides };

    // Act
    const result = quotaStatus(input);

    // Assess
    expect(result.status).toBe(status);
    expect(result.message).toContain(message);
  });

  it('reports what remains, overrides included', () => {
    expect(quotaStatus({ ...base, weeklyUsed: 260, monthlyUsed: 900, overrideCredits: 25 })).toMatchObject({
      weeklyRemaining: 0,
      monthlyRemaining: 125,
    });
  });
});

describe('canCharge', () => {
  it.each<[string, QuotaUsage, number, boolean]>([
    ['fits under the limit', { weeklyUsed: 0, monthlyUsed: 998, monthlyLimit: 1000 }, 2, true],
    ['just over the limit', { weeklyUsed: 0, monthlyUsed: 998, monthlyLimit: 1000 }, 2.0001, false],
    ['tenths that add up exactly (no float drift)', { weeklyUsed: 0, monthlyUsed: 999.7, monthlyLimit: 1000 }, 0.3, true],
    ['free work when the limit is reached', { weeklyUsed: 0, monthlyUsed: 1000, monthlyLimit: 1000 }, 0, true],
    ['paid work when the limit is reached', { weeklyUsed: 0, monthlyUsed: 1000, monthlyLimit: 1000 }, 0.0001, false],
    ['within an active override', { weeklyUsed: 0, monthlyUsed: 1000, monthlyLimit: 1000, overrideCredits: 10 }, 10, true],
    ['beyond an active override', { weeklyUsed: 0, monthlyUsed: 1000, monthlyLimit: 1000, overrideCredits: 10 }, 10.5, false],
    ['the weekly soft limit never blocks', { weeklyUsed: 500, weeklyLimit: 250, monthlyUsed: 0, monthlyLimit: 1000 }, 5, true],
    ['no monthly limit', { weeklyUsed: 0, monthlyUsed: 1_000_000 }, 500, true],
  ])('%s -> %s', (_name, state, credits, expected) => {
    expect(canCharge(state, credits)).toBe(expected);
  });
});

describe('canEverCharge', () => {
  it.each<[string, { monthlyLimit?: number | null; overrideCredits?: number }, number, boolean]>([
    ['the whole limit, whatever is used now', { monthlyLimit: 10 }, 10, true],
    ['more than the whole limit', { monthlyLimit: 10 }, 10.0001, false],
    ['more than the limit but within an active override', { monthlyLimit: 10, overrideCredits: 5 }, 15, true],
    ['more than the limit plus the override', { monthlyLimit: 10, overrideCredits: 5 }, 15.5, false],
    ['a zero limit and free work', { monthlyLimit: 0 }, 0, true],
    ['no monthly limit', { monthlyLimit: null }, 1_000_000, true],
  ])('%s -> %s', (_name, state, credits, expected) => {
    expect(canEverCharge(state, credits)).toBe(expected);
  });
});

describe('activeOverrideCredits', () => {
  const now = at('2026-11-23T10:00:00Z');
  it.each<[string, QuotaOverride[], number]>([
    ['none', [], 0],
    ['one active', [{ credits: 50, expires_at: '2026-11-24T00:00:00Z' }], 50],
    ['one expired', [{ credits: 50, expires_at: '2026-11-23T10:00:00Z' }], 0],
    ['one not yet started', [{ credits: 50, created_at: '2026-11-23T11:00:00Z', expires_at: '2026-11-24T00:00:00Z' }], 0],
    [
      'several, summed exactly',
      [
        { credits: 0.1, expires_at: at('2026-11-30T00:00:00Z') },
        { credits: 0.2, expires_at: '2026-11-30T00:00:00Z' },
        { credits: 7, expires_at: '2026-11-01T00:00:00Z' },
      ],
      0.3,
    ],
  ])('%s -> %d', (_name, overrides, expected) => {
    expect(activeOverrideCredits(overrides, now)).toBe(expected);
  });
});

describe('resolveEffectiveQuotaSpace', () => {
  const spaces: Record<string, QuotaSpace> = {
    org: { id: 'org', parent_id: null, quota: { monthly_limit: 1000, weekly_limit: 250 } },
    team: { id: 'team', parent_id: 'org' },
    squad: { id: 'squad', parent_id: 'team', quota: null },
    labs: { id: 'labs', parent_id: 'org', quota: { monthly_limit: 100, weekly_limit: null, inherit: false } },
    experiment: { id: 'experiment', parent_id: 'labs' },
    shared: { id: 'shared', parent_id: 'org', quota: { monthly_limit: 50, inherit: true } },
    sized: { id: 'sized', parent_id: 'org', quota: { monthly_limit: 20 } },
    unlimited_own: { id: 'unlimited_own', parent_id: 'org', quota: { inherit: false } },
    loose: { id: 'loose', parent_id: null },
    loose_child: { id: 'loose_child', parent_id: 'loose' },
    under_personal: { id: 'under_personal', parent_id: 'personal:alice' },
  };

  it.each<[string, string, string, boolean, boolean, string[]]>([
    ['a root with its own quota', 'org', 'org', false, false, ['org']],
    ['a sub-space draws from its parent', 'team', 'org', true, false, ['team', 'org']],
    ['a sub-sub-space draws from its nearest ancestor with a quota', 'squad', 'org', true, false, ['squad', 'team', 'org']],
    ['inherit: false with its own quota', 'labs', 'labs', false, false, ['labs']],
    ['below a space with its own quota', 'experiment', 'labs', true, false, ['experiment', 'labs']],
    ['inherit: true ignores the space’s own limits', 'shared', 'org', true, false, ['shared', 'org']],
    ['limits without an inherit flag are its own', 'sized', 'sized', false, false, ['sized']],
    ['inherit: false without limits is its own, unlimited budget', 'unlimited_own', 'unlimited_own', false, true, ['unlimited_own']],
    ['no quota anywhere resolves to the root, unlimited', 'loose_child', 'loose', true, true, ['loose_child', 'loose']],
    ['the personal space has no credit limit', 'personal:alice', 'personal:alice', false, true, ['personal:alice']],
    ['below a personal space', 'under_personal', 'personal:alice', true, true, ['under_personal', 'personal:alice']],
  ])('%s', (_name, spaceId, effective, inherited, unlimited, chain) => {
    // Act
    const result = resolveEffectiveQuotaSpace(spaceId, spaces);

    // Assess
    expect(result).toMatchObject({ space_id: effective, inherited, unlimited, chain });
  });

  it('accepts a Map', () => {
    const result = resolveEffectiveQuotaSpace('squad', new Map(Object.entries(spaces)));
    expect(result.space_id).toBe('org');
    expect(result.quota).toEqual({ monthly_limit: 1000, weekly_limit: 250 });
  });

  it.each<[string, Record<string, QuotaSpace>, string, string]>([
    ['a two-space cycle', { a: { id: 'a', parent_id: 'b' }, b: { id: 'b', parent_id: 'a' } }, 'a', 'Spaces form a cycle: a -> b -> a'],
    ['a space that is its own parent', { a: { id: 'a', parent_id: 'a' } }, 'a', 'Spaces form a cycle: a -> a'],
    [
      'a cycle above the space',
      { x: { id: 'x', parent_id: 'a' }, a: { id: 'a', parent_id: 'b' }, b: { id: 'b', parent_id: 'a' } },
      'x',
      'Spaces form a cycle: x -> a -> b -> a',
    ],
    ['a missing space', {}, 'ghost', 'Space ghost does not exist'],
    ['a missing ancestor', { a: { id: 'a', parent_id: 'gone' } }, 'a', 'Space gone, an ancestor of a, does not exist'],
    ['a prototype name as a space id', {}, 'constructor', 'Space constructor does not exist'],
  ])('rejects %s', (_name, tree, spaceId, message) => {
    // Act
    const act = () => resolveEffectiveQuotaSpace(spaceId, tree);

    // Assess
    expect(act).toThrow(SpaceHierarchyError);
    expect(act).toThrow(message);
  });
});

describe('wouldCreateCycle', () => {
  const tree: Record<string, QuotaSpace> = {
    org: { id: 'org', parent_id: null },
    team: { id: 'team', parent_id: 'org' },
    squad: { id: 'squad', parent_id: 'team' },
    a: { id: 'a', parent_id: 'b' },
    b: { id: 'b', parent_id: 'a' },
  };

  it.each<[string, string, string | null, boolean]>([
    ['no parent', 'org', null, false],
    ['a new space under a leaf', 'new', 'squad', false],
    ['a root under its own grandchild', 'org', 'squad', true],
    ['a space as its own parent', 'team', 'team', true],
    ['moving under an unrelated branch', 'squad', 'org', false],
    ['under an existing loop it is not part of', 'org', 'a', false],
  ])('%s -> %s', (_name, spaceId, parentId, expected) => {
    expect(wouldCreateCycle(spaceId, parentId, tree)).toBe(expected);
  });
});
