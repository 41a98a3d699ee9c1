/**
 * Space credit quotas as pure rules: the weekly soft window and monthly hard window a charge falls
 * in, the OK / WARNING / BLOCKED status people see, whether a charge fits, and which space's
 * quota a (sub-)space draws from.
 */
import { billingWindow } from '../accounts/billing-window.js';
import { DomainError } from '../platform/errors.js';
import { creditsToUnits, unitsToCredits } from './pricing.js';

export interface QuotaWindow {
  start: Date;
  /** When the window's usage resets (`resets_at`): the next window's start. */
  end: Date;
  /** Identifies the window: `W` or `M` + the ISO date of its first day, e.g. `W2026-11-22`. */
  key: string;
}

const DAY_MS = 86_400_000;
/** Share of the weekly soft limit from which people are warned, as a fraction 4/5. */
const WARNING_NUMERATOR = 4;
const WARNING_DENOMINATOR = 5;

/** The week (UTC midnight on `resetDay` to the next one) containing `now`; 0 = Sunday. */
export function weeklyWindow(now: Date, resetDay = 0): QuotaWindow {
  if (!Number.isInteger(resetDay) || resetDay < 0 || resetDay > 6) {
    throw new RangeError(`weekly reset day must be an integer from 0 (Sunday) to 6 (got ${resetDay})`);
  }
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const daysSinceReset = (now.getUTCDay() - resetDay + 7) % 7;
  const start = new Date(midnight - daysSinceReset * DAY_MS);
  return { start, end: new Date(start.getTime() + 7 * DAY_MS), key: `W${start.toISOString().slice(0, 10)}` };
}

/** The month (UTC) containing `now`, reset on `resetDayOfMonth` clamped to each month's last day. */
export function monthlyWindow(now: Date, resetDayOfMonth = 1): QuotaWindow {
  if (!Number.isInteger(resetDayOfMonth) || resetDayOfMonth < 1 || resetDayOfMonth > 31) {
    throw new RangeError(`monthly reset day must be an integer from 1 to 31 (got ${resetDayOfMonth})`);
  }
  const window = billingWindow(now, resetDayOfMonth);
  return { start: window.start, end: window.end, key: `M${window.key}` };
}

export type QuotaLevel = 'OK' | 'WARNING' | 'BLOCKED';

/** Credits used in the current windows; a null/absent limit means no limit. */
export interface QuotaUsage {
  weeklyUsed: number;
  weeklyLimit?: number | null;
  monthlyUsed: number;
  monthlyLimit?: number | null;
  /** Credits of admin overrides active now; they raise the monthly hard limit. */
  overrideCredits?: number;
}

export interface QuotaStatusInput extends QuotaUsage {
  /** A charge about to be made: BLOCKED if it would not fit under the hard limit. */
  charge?: number;
  weeklyResetsAt?: Date;
  monthlyResetsAt?: Date;
}

export interface QuotaStatus {
  status: QuotaLevel;
  /** For people, e.g. "120 credits remaining this week". */
  message: string;
  weeklyRemaining: number | null;
  /** Including active override credits. */
  monthlyRemaining: number | null;
}

const hasLimit = (limit: number | null | undefined): limit is number => limit !== null && limit !== undefined;

/** Formats an amount for people: at most 4 decimals, no trailing zeros, "1 credit" / "2 credits". */
export const formatCredits = (credits: number): string => {
  const text = String(unitsToCredits(creditsToUnits(credits)));
  return `${text} ${text === '1' ? 'credit' : 'credits'}`;
};

const day = (date: Date): string => date.toISOString().slice(0, 10);

const monthlyCapUnits = (state: QuotaUsage): number | null =>
  hasLimit(state.monthlyLimit) ? creditsToUnits(state.monthlyLimit) + creditsToUnits(state.overrideCredits ?? 0) : null;

/**
 * Whether `credits` can be charged without passing the monthly hard limit (+ active overrides).
 * Free work (0 credits) is never blocked.
 */
export function canCharge(state: QuotaUsage, credits: number): boolean {
  const cap = monthlyCapUnits(state);
  const charge = creditsToUnits(credits);
  if (cap === null || charge <= 0) return true;
  return creditsToUnits(state.monthlyUsed) + charge <= cap;
}

/**
 * Whether `credits` could fit in a monthly window at all: not more than the whole hard limit plus
 * the overrides active now. A charge that fails this waits for nothing: no reset makes it fit.
 */
export function canEverCharge(state: Pick<QuotaUsage, 'monthlyLimit' | 'overrideCredits'>, credits: number): boolean {
  const cap = monthlyCapUnits({ ...state, weeklyUsed: 0, monthlyUsed: 0 });
  return cap === null || creditsToUnits(credits) <= cap;
}

/**
 * OK, WARNING (from 80 % of the weekly soft limit; never blocks) or BLOCKED (the monthly hard
 * limit plus active overrides is reached, or `charge` would pass it), with a message for people.
 */
export function quotaStatus(input: QuotaStatusInput): QuotaStatus {
  const cap = monthlyCapUnits(input);
  const monthlyUsed = creditsToUnits(input.monthlyUsed);
  const monthlyRemainingUnits = cap === null ? null : Math.max(0, cap - monthlyUsed);
  const monthlyRemaining = monthlyRemainingUnits === null ? null : unitsToCredits(monthlyRemainingUnits);
  const weeklyLimitUnits = hasLimit(input.weeklyLimit) ? creditsToUnits(input.weeklyLimit) : null;
  const weeklyUsed = creditsToUnits(input.weeklyUsed);
  const weeklyRemaining = weeklyLimitUnits === null ? null : unitsToCredits(Math.max(0, weeklyLimitUnits - weeklyUsed));
  const amounts = { weeklyRemaining, monthlyRemaining };

  const waitHint = `tasks that cost credits wait until the quota resets${
    input.monthlyResetsAt ? ` on ${day(input.monthlyResetsAt)}` : ''
  } or an admin grants an override`;
  if (cap !== null && monthlyUsed >= cap) {
    return { status: 'BLOCKED', message: `Monthly credit limit reached: ${waitHint}`, ...amounts };
  }
  const charge = input.charge ?? 0;
  if (!canCharge(input, charge)) {
    return {
      status: 'BLOCKED',
      message: `This task needs ${formatCredits(charge)} but only ${formatCredits(monthlyRemaining ?? 0)} remain this month: ${waitHint}`,
      ...amounts,
    };
  }

  if (weeklyLimitUnits !== null && weeklyRemaining !== null) {
    // Integer comparison: used >= 80 % of the limit exactly at the boundary.
    if (weeklyUsed * WARNING_DENOMINATOR >= weeklyLimitUnits * WARNING_NUMERATOR) {
      const resets = input.weeklyResetsAt ? `; the week resets on ${day(input.weeklyResetsAt)}` : '';
      const message =
        weeklyUsed >= weeklyLimitUnits
          ? `Weekly soft limit of ${formatCredits(input.weeklyLimit ?? 0)} used up; tasks still run${resets}`
          : `Weekly soft limit nearly reached: ${formatCredits(weeklyRemaining)} remaining this week; tasks still run${resets}`;
      return { status: 'WARNING', message, ...amounts };
    }
    return { status: 'OK', message: `${formatCredits(weeklyRemaining)} remaining this week`, ...amounts };
  }
  if (monthlyRemaining !== null) {
    return { status: 'OK', message: `${formatCredits(monthlyRemaining)} remaining this month`, ...amounts };
  }
  return { status: 'OK', message: 'No credit limit', ...amounts };
}

export interface QuotaOverride {
  credits: number;
  expires_at: string | Date;
  created_at?: string | Date;
}

/** Sum of the credits of overrides in force at `now` (created, not yet expired). */
export function activeOverrideCredits(overrides: readonly QuotaOverride[], now: Date): number {
  const at = now.getTime();
  const units = overrides
    .filter((o) => new Date(o.expires_at).getTime() > at && (o.created_at === undefined || new Date(o.created_at).getTime() <= at))
    .reduce((sum, o) => sum + creditsToUnits(o.credits), 0);
  return unitsToCredits(units);
}

// ---------------------------------------------------------------------------------------------
// Sub-spaces

export const PERSONAL_SPACE_PREFIX = 'personal:';
export const personalSpaceId = (userId: string): string => `${PERSONAL_SPACE_PREFIX}${userId}`;
export const isPersonalSpace = (spaceId: string): boolean => spaceId.startsWith(PERSONAL_SPACE_PREFIX);

export interface SpaceQuotaSettings {
  monthly_limit?: number | null;
  weekly_limit?: number | null;
  /** true: draw from the parent's quota; false: this space's own. Absent: own if limits are set. */
  inherit?: boolean;
  weekly_reset_day?: number;
  monthly_reset_day?: number;
}

export interface QuotaSpace {
  id: string;
  parent_id?: string | null;
  quota?: SpaceQuotaSettings | null;
}

export type SpacesById = ReadonlyMap<string, QuotaSpace> | Readonly<Record<string, QuotaSpace>>;

export interface EffectiveQuotaSpace {
  /** The space whose quota applies and whose counters a charge moves. */
  space_id: string;
  quota: SpaceQuotaSettings | null;
  /** No credit limit applies (personal space, or no quota anywhere up the chain). */
  unlimited: boolean;
  /** The quota belongs to an ancestor, not the space asked about. */
  inherited: boolean;
  /** From the space asked about up to `space_id`. */
  chain: string[];
}

/** The space tree is broken: a cycle or a missing space. */
export class SpaceHierarchyError extends DomainError {
  constructor(message: string, chain: readonly string[]) {
    super('VALIDATION_ERROR', message, { details: { chain } });
    this.name = 'SpaceHierarchyError';
  }
}

const isMap = (spaces: SpacesById): spaces is ReadonlyMap<string, QuotaSpace> => spaces instanceof Map;

const lookup = (spaces: SpacesById, id: string): QuotaSpace | undefined => {
  if (isMap(spaces)) return spaces.get(id);
  return Object.hasOwn(spaces, id) ? spaces[id] : undefined;
};

const hasLimits = (quota: SpaceQuotaSettings): boolean => hasLimit(quota.monthly_limit) || hasLimit(quota.weekly_limit);

/** A space uses its own quota when it says so, when it sets limits without saying, or when it is a root. */
const ownsQuota = (space: QuotaSpace): boolean => {
  const quota = space.quota;
  if (!quota) return false;
  if (!space.parent_id || quota.inherit === false) return true;
  return quota.inherit === undefined && hasLimits(quota);
};

/**
 * The space whose quota `spaceId` draws from: itself if it has its own quota, else its nearest
 * ancestor that does. Personal spaces (`personal:<user>`) have no credit limit. A tree with no
 * quota anywhere resolves to its root, unlimited. Throws `SpaceHierarchyError` on a cycle or a
 * missing space.
 */
export function resolveEffectiveQuotaSpace(spaceId: string, spacesById: SpacesById): EffectiveQuotaSpace {
  const chain: string[] = [];
  const seen = new Set<string>();
  let currentId = spaceId;
  for (;;) {
    chain.push(currentId);
    if (seen.has(currentId)) throw new SpaceHierarchyError(`Spaces form a cycle: ${chain.join(' -> ')}`, chain);
    seen.add(currentId);
    const inherited = currentId !== spaceId;
    if (isPersonalSpace(currentId)) return { space_id: currentId, quota: null, unlimited: true, inherited, chain };
    const space = lookup(spacesById, currentId);
    if (!space) {
      throw new SpaceHierarchyError(
        inherited ? `Space ${currentId}, an ancestor of ${spaceId}, does not exist` : `Space ${spaceId} does not exist`,
        chain,
      );
    }
    if (ownsQuota(space) && space.quota) {
      return { space_id: currentId, quota: space.quota, unlimited: !hasLimits(space.quota), inherited, chain };
    }
    if (!space.parent_id) return { space_id: currentId, quota: null, unlimited: true, inherited, chain };
    currentId = space.parent_id;
  }
}

/** Whether making `parentId` the parent of `spaceId` would close a loop (check before saving a space). */
export function wouldCreateCycle(spaceId: string, parentId: string | null | undefined, spacesById: SpacesById): boolean {
  const seen = new Set<string>();
  let currentId = parentId ?? undefined;
  while (currentId !== undefined) {
    if (currentId === spaceId) return true;
    // An existing loop above us is not one this change creates; stop walking it.
    if (seen.has(currentId)) return false;
    seen.add(currentId);
    currentId = lookup(spacesById, currentId)?.parent_id ?? undefined;
  }
  return false;
}
