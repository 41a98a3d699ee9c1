import { describe, expect, it } from 'vitest';
import { batchAdmissionError } from '../../../src/batches/admission.js';
import { effectiveLimits } from '../../../src/accounts/plans.js';
import { newUserAccount, type UserAccount } from '../../../src/accounts/account.js';

const NOW = new Date('2026-03-10T22:00:00Z');
const titles = (n: number) => Array.from({ length: n }, (_, i) => `task ${i}`);
const user = (overrides: Partial<UserAccount>): UserAccount => ({ ...newUserAccount('u', NOW), ...overrides });
const free = effectiveLimits('free', {}, 50);

describe('batchAdmissionError', () => {
  it.each([
    { case: 'an empty queue takes the whole batch', pending: 0, count: 50, rejected: null },
    { case: 'exactly up to the limit', pending: 45, count: 5, rejected: null },
    { case: 'one over the limit names the first task that does not fit', pending: 45, count: 10, rejected: 5 },
    { case: 'a full queue rejects the first task', pending: 50, count: 1, rejected: 0 },
    { case: 'a batch larger than the limit on an empty queue', pending: 0, count: 51, rejected: 50 },
  ])('$case', ({ pending, count, rejected }) => {
    const error = batchAdmissionError(user({ pending_count: pending }), free, titles(count), NOW);
    if (rejected === null) {
      expect(error).toBeNull();
    } else {
      expect(error).toMatchObject({ code: 'TOO_MANY_PENDING', details: { task_index: rejected, title: `task ${rejected}` } });
      expect(error?.message).toContain(`Task ${rejected} ("task ${rejected}")`);
    }
  });

  it('rejects the batch when the monthly agent-hours are used up, naming its first task', () => {
    const exhausted = user({ hours_window: '2026-03-01', hours_used_seconds: 10 * 3600 });

    const error = batchAdmissionError(exhausted, free, titles(3), NOW);

    expect(error).toMatchObject({ code: 'MONTHLY_LIMIT_REACHED', details: { task_index: 0 } });
    expect(error?.message).toContain('reset');
  });

  it('counts hours of the current billing cycle only', () => {
    const lastMonth = user({ hours_window: '2026-02-01', hours_used_seconds: 10 * 3600 });

    expect(batchAdmissionError(lastMonth, free, titles(3), NOW)).toBeNull();
  });

  it('does not limit hours on plans without a monthly limit', () => {
    const team = effectiveLimits('team', {}, 50);

    expect(batchAdmissionError(user({ plan: 'team', hours_used_seconds: 10_000 * 3600 }), team, titles(3), NOW)).toBeNull();
  });
});
