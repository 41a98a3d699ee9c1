/** Monthly agent-hour windows run from the user's billing-cycle day to the same day next month (UTC). */

export interface BillingWindow {
  /** ISO date of the window's first day, e.g. `2026-11-15`; identifies the window. */
  key: string;
  start: Date;
  /** When the hours reset (start of the next window). */
  end: Date;
}

const daysInMonth = (year: number, month: number): number => new Date(Date.UTC(year, month + 1, 0)).getUTCDate();

const cycleStart = (year: number, month: number, billingDay: number): Date => {
  // JS months overflow into the next/previous year as needed.
  const normalized = new Date(Date.UTC(year, month, 1));
  const y = normalized.getUTCFullYear();
  const m = normalized.getUTCMonth();
  return new Date(Date.UTC(y, m, Math.min(billingDay, daysInMonth(y, m))));
};

/** The billing window containing `now`; a billing day past the month's end is clamped to its last day. */
export function billingWindow(now: Date, billingDay: number): BillingWindow {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  let start = cycleStart(year, month, billingDay);
  if (start.getTime() > now.getTime()) start = cycleStart(year, month - 1, billingDay);
  const end = cycleStart(start.getUTCFullYear(), start.getUTCMonth() + 1, billingDay);
  return { key: start.toISOString().slice(0, 10), start, end };
}
