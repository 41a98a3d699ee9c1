import { describe, expect, it } from 'vitest';
import { creditAmount, isWholeCreditUnits } from '../../../src/credits/credit-amount.js';

describe('a credit amount', () => {
  it.for([0, 1, 0.0001, 2.5, 0.0003, 1_000_000_000])('%s is whole ledger units', (value) => {
    expect(isWholeCreditUnits(value)).toBe(true);
  });

  it.for([0.00001, 1e-11, 1e-200, 5e-324, -1e-200, 1.23456])('%s is not (more than 4 decimals)', (value) => {
    expect(isWholeCreditUnits(value)).toBe(false);
  });

  it('refuses 0 only where it must be positive, and more than a billion everywhere', () => {
    expect(creditAmount().safeParse(0).success).toBe(true);
    expect(creditAmount({ positive: true }).safeParse(0).error?.issues[0]?.message).toBe('must be more than 0');
    expect(creditAmount().safeParse(1e200).success).toBe(false);
    expect(creditAmount().safeParse(1e-200).error?.issues[0]?.message).toBe('must have at most 4 decimal places');
  });
});
