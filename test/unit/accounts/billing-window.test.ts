import { describe, expect, it } from 'vitest';
import { billingWindow } from '../../../src/accounts/billing-window.js';

describe('billingWindow', () => {
  it.each([
    // now, billing day, window start, resets at
    ['2026-11-23T10:00:00Z', 1, '2026-11-01', '2026-12-01T00:00:00.000Z'],
    ['2026-11-01T00:00:00Z', 1, '2026-11-01', '2026-12-01T00:00:00.000Z'],
    ['2026-10-31T23:59:59Z', 1, '2026-10-01', '2026-11-01T00:00:00.000Z'],
    ['2026-11-23T10:00:00Z', 15, '2026-11-15', '2026-12-15T00:00:00.000Z'],
    ['2026-11-10T10:00:00Z', 15, '2026-10-15', '2026-11-15T00:00:00.000Z'],
    // day 31 is clamped to the month's last day
    ['2026-02-28T12:00:00Z', 31, '2026-02-28', '2026-03-31T00:00:00.000Z'],
    ['2026-02-27T12:00:00Z', 31, '2026-01-31', '2026-02-28T00:00:00.000Z'],
    ['2028-02-29T12:00:00Z', 30, '2028-02-29', '2028-03-30T00:00:00.000Z'],
    // year boundary
    ['2027-01-05T00:00:00Z', 10, '2026-12-10', '2027-01-10T00:00:00.000Z'],
    ['2026-12-31T00:00:00Z', 31, '2026-12-31', '2027-01-31T00:00:00.000Z'],
  ])('at %s with billing day %i the window starts %s and resets %s', (now, day, key, end) => {
    const window = billingWindow(new Date(now), day);
    expect(window.key).toBe(key);
    expect(window.end.toISOString()).toBe(end);
    expect(window.start.getTime()).toBeLessThanOrEqual(new Date(now).getTime());
  });
});
