import * as z from 'zod';
import { CREDIT_UNITS_PER_CREDIT } from './pricing.js';

/** The largest credit amount a quota, an override or a request may name. */
export const MAX_CREDIT_AMOUNT = 1_000_000_000;

/**
 * True when `value` is a whole number of ledger units (1/10 000 credit). A value so small that it
 * rounds to no units at all (1e-200) has more decimals than that, and DynamoDB could not store it.
 */
export function isWholeCreditUnits(value: number): boolean {
  const units = value * CREDIT_UNITS_PER_CREDIT;
  const rounded = Math.round(units);
  return Math.abs(units - rounded) < 1e-6 && (value === 0 || rounded !== 0);
}

/** A credit amount as people type it: at most 4 decimals, 0 allowed unless `positive`. */
export function creditAmount(options: { positive?: boolean } = {}) {
  const base = z.number().finite().max(MAX_CREDIT_AMOUNT);
  const bounded = options.positive ? base.gt(0, { error: 'must be more than 0' }) : base.nonnegative();
  return bounded.refine(isWholeCreditUnits, { error: 'must have at most 4 decimal places' });
}
