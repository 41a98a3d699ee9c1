import { describe, expect, it } from 'vitest';
import { PromotionPace } from '../../../src/scheduling/promotion-pace.js';

/** What a pass does with the pace: promote if it is due, and count the promotion. */
function take(pace: PromotionPace, nowMs: number): boolean {
  const due = pace.due(nowMs);
  if (due) pace.record(nowMs);
  return due;
}

describe('the promotion pace of one orchestrator', () => {
  it('lets the first pass promote, skips passes within the interval, and lets the next one after it', () => {
    const pace = new PromotionPace(1_000);
    expect(take(pace, 10_000)).toBe(true);
    expect(take(pace, 10_400)).toBe(false);
    expect(take(pace, 10_999)).toBe(false);
    expect(take(pace, 11_000)).toBe(true);
    expect(take(pace, 11_500)).toBe(false);
  });

  it('counts a promotion made anyway, so the passes right after it skip', () => {
    const pace = new PromotionPace(1_000);
    expect(take(pace, 0)).toBe(true);
    pace.record(5_000);
    expect(take(pace, 5_500)).toBe(false);
    expect(take(pace, 6_000)).toBe(true);
  });

  it('never skips for a clock that went back', () => {
    const pace = new PromotionPace(1_000);
    expect(take(pace, 50_000)).toBe(true);
    expect(take(pace, 20_000)).toBe(true);
  });

  it('asks for one catch-up per interval, at the moment the pace allows again, and a new one after the next promotion', () => {
    const pace = new PromotionPace(1_000);
    pace.record(10_000);
    expect(pace.catchUp(10_200)).toBe(11_000);
    expect(pace.catchUp(10_900)).toBeNull();
    // Past the interval with no promotion since: a catch-up for now.
    expect(pace.catchUp(12_500)).toBe(12_500);
    pace.record(13_000);
    expect(pace.catchUp(13_100)).toBe(14_000);
  });
});
