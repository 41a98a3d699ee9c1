import { describe, expect, it } from 'vitest';
import { PromotionPace } from '../../../src/scheduling/promotion-pace.js';

describe('the promotion pace of one orchestrator', () => {
  it('lets the first pass promote, skips passes within the interval, and lets the next one after it', () => {
    const pace = new PromotionPace(1_000);
    expect(pace.take(10_000)).toBe(true);
    expect(pace.take(10_400)).toBe(false);
    expect(pace.take(10_999)).toBe(false);
    expect(pace.take(11_000)).toBe(true);
    expect(pace.take(11_500)).toBe(false);
  });

  it('counts a promotion made anyway, so the passes right after it skip', () => {
    const pace = new PromotionPace(1_000);
    expect(pace.take(0)).toBe(true);
    pace.record(5_000);
    expect(pace.take(5_500)).toBe(false);
    expect(pace.take(6_000)).toBe(true);
  });

  it('never skips for a clock that went back', () => {
    const pace = new PromotionPace(1_000);
    expect(pace.take(50_000)).toBe(true);
    expect(pace.take(20_000)).toBe(true);
  });
});
