/**
 * Credits against space quotas: what a space has used in its current windows, the transaction
 * items that charge a task when it starts (the hard limit is a condition INSIDE that transaction),
 * and the items that settle it when it ends (refund from actual usage, ledger row).
 */
import { actualCredits, creditsToUnits, unitsToCredits, type CreditEstimateInput } from './pricing.js';
import type { Task } from '../tasks/task.js';
import { DomainError } from '../platform/errors.js';
import { logger } from '../platform/logger.js';
import { wakeOrchestrator } from '../platform/queue/messages.js';
import {
  activeOverrideCredits,
  canCharge,
  canEverCharge,
  formatCredits,
  isPersonalSpace,
  monthlyWindow,
  PERSONAL_SPACE_PREFIX,
  quotaStatus,
  resolveEffectiveQuotaSpace,
  weeklyWindow,
  type QuotaSpace,
  type QuotaUsage,
  type QuotaWindow,
} from './quota-windows.js';
import { getChargeEntry, noChargeItem, putLedgerItem, type LedgerEntry } from './ledger-store.js';
import { deleteWaiter, getSpace, getUsageUnits, listWaiters, putWaiter, spaceUnchangedItem, usageChangeItem, type Space } from '../spaces/space-store.js';
import { releaseExecutorSlotItem } from '../executors/executor-store.js';
import { transact, TransactionConflictError, withOptimisticRetry, type TransactItem } from '../platform/dynamodb/transact.js';
import { getUser, putUserItem } from '../accounts/user-store.js';
import { getTask } from '../tasks/task-store.js';
import { readTaskAndOwner, type TaskRef } from '../tasks/transition.js';
import { priorUsage, runAttempt } from '../tasks/retry-policy.js';
import { notifyQuota } from '../notifications/emit.js';

/** The badge a task shows while it waits for its space's monthly credits. */
export const OVER_QUOTA_BADGE = 'Blocked (over quota)';

/** Walking up more parents than this means the tree is broken; PUT keeps real trees far shallower. */
const MAX_CHAIN = 16;

/** A charge does not fit under the hard limit (+ active overrides) of `spaceId` before `resetsAt`. */
export class CreditLimitReachedError extends DomainError {
  constructor(
    readonly spaceId: string,
    readonly resetsAt: Date,
    message: string,
  ) {
    super('CREDIT_LIMIT_REACHED', message, { details: { space_id: spaceId, resets_at: resetsAt.toISOString() } });
    this.name = 'CreditLimitReachedError';
  }
}

/**
 * A charge larger than the whole monthly hard limit (+ active overrides) of `spaceId`: no reset
 * makes it fit, so the task is refused at create and failed at claim instead of waiting forever.
 */
export class CreditEstimateExceedsLimitError extends DomainError {
  constructor(
    readonly spaceId: string,
    readonly estimate: number,
    readonly limit: number,
    readonly overrideCredits: number,
  ) {
    const overrides = overrideCredits > 0 ? ` plus ${formatCredits(overrideCredits)} of active overrides` : '';
    super(
      'CREDIT_LIMIT_REACHED',
      `This task's estimate of ${formatCredits(estimate)} exceeds the whole monthly credit limit of ${formatCredits(limit)}${overrides} of space ${spaceId}; it could never start. Lower the estimate or ask an admin for an override`,
      { details: { space_id: spaceId, estimated_credits: estimate, monthly_limit: limit, override_credits: overrideCredits } },
    );
    this.name = 'CreditEstimateExceedsLimitError';
  }
}

/** The error for a charge of `credits` that can never fit the quota of `state`, or null if it can. */
export function exceedsLimitError(state: QuotaState, credits: number): CreditEstimateExceedsLimitError | null {
  if (state.monthlyLimit === null || canEverCharge(quotaUsage(state), credits)) return null;
  return new CreditEstimateExceedsLimitError(state.quotaSpaceId, credits, state.monthlyLimit, state.overrideCredits);
}

/** Where a space's credits stand now: the space whose quota applies, its windows, limits and usage. */
export interface QuotaState {
  /** The space asked about. */
  spaceId: string;
  /** The space whose quota applies and whose counters a charge moves. */
  quotaSpaceId: string;
  inherited: boolean;
  /** The item whose version guards a charge; null for a personal space (no item, no limit). */
  quotaSpace: Space | null;
  weekly: QuotaWindow;
  monthly: QuotaWindow;
  weeklyLimit: number | null;
  monthlyLimit: number | null;
  overrideCredits: number;
  weeklyUnits: number;
  monthlyUnits: number;
}

export const quotaUsage = (state: QuotaState): QuotaUsage => ({
  weeklyUsed: unitsToCredits(state.weeklyUnits),
  weeklyLimit: state.weeklyLimit,
  monthlyUsed: unitsToCredits(state.monthlyUnits),
  monthlyLimit: state.monthlyLimit,
  overrideCredits: state.overrideCredits,
});

/** The space and its ancestors, as far as they exist (resolution reports a missing one). */
async function loadChain(spaceId: string): Promise<Map<string, Space>> {
  const spaces = new Map<string, Space>();
  let currentId: string | null = spaceId;
  while (currentId && !isPersonalSpace(currentId) && !spaces.has(currentId) && spaces.size < MAX_CHAIN) {
    const space = await getSpace(currentId);
    if (!space) break;
    spaces.set(currentId, space);
    currentId = space.parent_id;
  }
  return spaces;
}

const asQuotaSpace = (space: Space): QuotaSpace => ({
  id: space.id,
  parent_id: space.parent_id,
  quota: space.quota ? { ...space.quota, inherit: space.quota.inherit } : null,
});

/**
 * The quota that applies to `spaceId` at `now`: its own, or its nearest ancestor's that has one
 * (sub-spaces draw from their parent by default). Personal spaces have no limit; their monthly
 * window follows the user's billing day (`readOwner` reads the owner's account; a caller that
 * already reads it passes its own read, so the account is read once per request).
 */
export async function loadQuotaState(
  spaceId: string,
  now: Date,
  readOwner: (userId: string) => Promise<{ billing_day: number }> = (userId) => getUser(userId, now),
  options: { usageOnlyUnderLimits?: boolean } = {},
): Promise<QuotaState> {
  const chain = await loadChain(spaceId);
  const resolved = resolveEffectiveQuotaSpace(spaceId, new Map([...chain].map(([id, space]) => [id, asQuotaSpace(space)])));
  const quotaSpace = chain.get(resolved.space_id) ?? null;
  let monthlyResetDay: number;
  if (quotaSpace) monthlyResetDay = quotaSpace.quota?.monthly_reset_day ?? quotaSpace.billing_day;
  else monthlyResetDay = (await readOwner(resolved.space_id.slice(PERSONAL_SPACE_PREFIX.length))).billing_day;
  const weekly = weeklyWindow(now, quotaSpace?.quota?.weekly_reset_day ?? 0);
  const monthly = monthlyWindow(now, monthlyResetDay);
  // A charge against a space with no limit reads no counters: it only adds to them (usage 0 here).
  const limited = quotaSpace?.quota?.monthly_limit != null || quotaSpace?.quota?.weekly_limit != null;
  const usage = options.usageOnlyUnderLimits && !limited ? {} : await getUsageUnits(resolved.space_id, [weekly.key, monthly.key]);
  return {
    spaceId,
    quotaSpaceId: resolved.space_id,
    inherited: resolved.inherited,
    quotaSpace,
    weekly,
    monthly,
    weeklyLimit: quotaSpace?.quota?.weekly_limit ?? null,
    monthlyLimit: quotaSpace?.quota?.monthly_limit ?? null,
    overrideCredits: activeOverrideCredits(quotaSpace?.overrides ?? [], now),
    weeklyUnits: usage[weekly.key] ?? 0,
    monthlyUnits: usage[monthly.key] ?? 0,
  };
}

/**
 * Transaction items that charge `task` its `estimated_credits` as it starts (the orchestrator's
 * claim for remote work, a device's lease for local work): the counters of the space whose quota
 * applies, and the ledger row. The monthly hard limit (+ overrides in force) is a condition on
 * the counter inside the transaction, and the quota space's version is checked, so concurrent
 * charges can never pass it. Every started task gets exactly one charge row, free ones included
 * (0 credits: the audit trail still says who ran what, where); a task charged on an earlier attempt
 * is not charged again. Throws `CreditLimitReachedError` when the charge does not fit, after noting
 * the user as waiting for the space so that an override or a raised limit wakes their work, and
 * `CreditEstimateExceedsLimitError` when it never can (the limit was lowered below it).
 */
export async function creditChargeItems(task: Task, now: Date, owner?: { user_id: string; billing_day: number }, charge?: LedgerEntry | null): Promise<TransactItem[]> {
  const attempt = runAttempt(task);
  // Both reads at once (a claim waits for them): whether this attempt was already charged (unless
  // the caller read that with its own reads: `charge`), and the quota. A personal space's window
  // follows its owner's billing day; the orchestrator passes the account it is claiming with, so
  // that is not read again (its version condition keeps it exact). A space with no limit has no
  // counters to read: its charge only adds to them. So a claim of a personal space's task reads
  // nothing here.
  const readOwner = owner ? (userId: string) => (userId === owner.user_id ? Promise.resolve(owner) : getUser(userId, now)) : undefined;
  const [charged, quota] = await Promise.allSettled([
    charge !== undefined ? Promise.resolve(charge) : getChargeEntry(task.id, attempt),
    loadQuotaState(task.space_id, now, readOwner, { usageOnlyUnderLimits: true }),
  ]);
  if (charged.status === 'rejected') throw charged.reason;
  if (charged.value) return [];
  if (quota.status === 'rejected') throw quota.reason;
  const state = quota.value;
  const units = creditsToUnits(task.estimated_credits);
  const items: TransactItem[] = [];
  if (units > 0) {
    if (state.monthlyLimit === null) {
      items.push(usageChangeItem(state.quotaSpaceId, state.monthly.key, units, now));
    } else {
      const never = exceedsLimitError(state, task.estimated_credits);
      if (never) throw never;
      if (!canCharge(quotaUsage(state), task.estimated_credits)) {
        await putWaiter(state.quotaSpaceId, task.user_id, state.monthly.end);
        await notifyQuota('quota.blocked', { userId: task.user_id, spaceId: state.quotaSpaceId, windowKey: state.monthly.key, message: quotaStatus({ ...quotaUsage(state), charge: task.estimated_credits, monthlyResetsAt: state.monthly.end }).message, resetsAt: state.monthly.end.toISOString() }, now);
        throw new CreditLimitReachedError(
          state.quotaSpaceId,
          state.monthly.end,
          `Task ${task.id} needs ${formatCredits(task.estimated_credits)} but the monthly credit limit of space ${state.quotaSpaceId} is reached`,
        );
      }
      const capUnits = creditsToUnits(state.monthlyLimit) + creditsToUnits(state.overrideCredits);
      items.push(usageChangeItem(state.quotaSpaceId, state.monthly.key, units, now, capUnits - units));
    }
    items.push(usageChangeItem(state.quotaSpaceId, state.weekly.key, units, now));
    if (state.weeklyLimit !== null && (state.weeklyUnits + units) * 5 >= creditsToUnits(state.weeklyLimit) * 4) {
      await notifyQuota('quota.warning', { userId: task.user_id, spaceId: state.quotaSpaceId, windowKey: state.weekly.key, message: quotaStatus({ ...quotaUsage(state), weeklyUsed: unitsToCredits(state.weeklyUnits + units), weeklyResetsAt: state.weekly.end }).message, resetsAt: state.weekly.end.toISOString() }, now);
    }
    // A limit lowered or an override expired since the read must not let this charge through.
    if (state.quotaSpace) items.push(spaceUnchangedItem(state.quotaSpace));
  }
  items.push(
    putLedgerItem({
      id: attempt === 1 ? `charge:${task.id}` : `charge:${task.id}#${attempt}`,
      task_id: task.id,
      space_id: state.quotaSpaceId,
      task_space_id: task.space_id,
      executor_id: task.executor_id,
      credits: unitsToCredits(units),
      units,
      reason: 'charge',
      actor: task.user_id,
      created_at: now.toISOString(),
      weekly_window: units > 0 ? state.weekly.key : null,
      monthly_window: units > 0 ? state.monthly.key : null,
      note: null,
      expires_at: null,
      ...(attempt === 1 ? {} : { attempt }),
    }),
  );
  return items;
}

const creditInput = (task: Task): CreditEstimateInput => ({
  type: task.type,
  integration: task.integration,
  action: task.action,
  estimatedTokens: task.estimated_tokens,
  estimatedMinutes: task.estimated_minutes,
});

/**
 * What a finished task really cost, given its charge. With a `report` (the sandbox's or device's
 * completion, which may arrive before the task is marked running) it is priced by the usage
 * reported: tokens for LLM actions, minutes run for agents, never more than was charged. Without
 * one, a task that never started (cancelled or failed before running) costs nothing and a started
 * one is priced the same way from what is known. Null if it was never charged.
 */
export function settledCredits(before: Task, charge: LedgerEntry | null, now: Date, report?: { tokensUsed?: number | null }): number | null {
  if (!charge) return null;
  if (!report && before.status !== 'running') return 0;
  const startedAt = before.started_at ?? before.claimed_at;
  const started = startedAt ? Date.parse(startedAt) : Number.NaN;
  const minutesUsed = before.type === 'agent' && Number.isFinite(started) ? Math.max(0, now.getTime() - started) / 60_000 : null;
  try {
    return actualCredits({
      task: creditInput(before),
      location: before.execution_location,
      charged: charge.credits,
      tokensUsed: report?.tokensUsed,
      minutesUsed,
    }).actualCredits;
  } catch (error) {
    // A pricing entry removed since the charge: the charge stands rather than blocking the report.
    logger.warn('could not price actual usage; the charge stands', { task_id: before.id, error });
    return charge.credits;
  }
}

/**
 * Items that ride with a task's move to a terminal state: the device slot it held goes back, and
 * the unused part of its charge is refunded to the windows the charge was counted in, with a
 * refund row. `after.actual_credits` must already be set (see `settledCredits`).
 */
export function settlementItems(before: Task, after: Task, charge: LedgerEntry | null, now: Date): TransactItem[] {
  const items: TransactItem[] = [];
  if (before.status === 'running' && before.execution_location === 'local' && before.executor_id) {
    items.push(releaseExecutorSlotItem(before.user_id, before.executor_id));
  }
  const attempt = runAttempt(before);
  // Read as uncharged but started meanwhile? Then this must not settle without its charge.
  if (!charge && before.status !== 'pending') items.push(noChargeItem(before.id, attempt));
  if (!charge || after.actual_credits === null) return items;
  // The charge read belongs to another attempt (the task moved on meanwhile): read again.
  if ((charge.attempt ?? 1) !== attempt) throw new TransactionConflictError([]);
  // `actual_credits` is the total over the attempts; this attempt's part is what settles its charge.
  const refundUnits = charge.units - creditsToUnits(after.actual_credits - (priorUsage(before).credits ?? 0));
  if (refundUnits <= 0) return items;
  for (const window of [charge.weekly_window, charge.monthly_window]) {
    if (window) items.push(usageChangeItem(charge.space_id, window, -refundUnits, now));
  }
  items.push(
    putLedgerItem({
      ...charge,
      id: attempt === 1 ? `refund:${before.id}` : `refund:${before.id}#${attempt}`,
      credits: -unitsToCredits(refundUnits),
      units: -refundUnits,
      reason: 'refund',
      created_at: now.toISOString(),
    }),
  );
  return items;
}

/**
 * Runs a settling transition with the task's charge as just read. If the task was charged after
 * that read (a claim racing a cancel), the transaction's no-charge check fails and it runs again
 * with the charge, so a refund is never missed. `run` gets the task to transition as a `TaskRef`.
 * `known`, a task the caller has just read, names the attempt for the first round, whose charge
 * row is then read at once with the transition's reads of the task and its owner (handed to `run`
 * in the ref): one round trip before the transaction. A charge of another attempt (the task moved
 * on since `known` was read) is refused by the settlement, and the next round reads afresh.
 */
export async function withTaskCharge<T>(taskId: string, run: (charge: LedgerEntry | null, task: TaskRef) => Promise<T>, known?: Task, now = new Date()): Promise<T> {
  for (let round = 1; ; round++) {
    try {
      if (round === 1 && known?.id === taskId) {
        const [charge, read] = await Promise.all([getChargeEntry(taskId, runAttempt(known)), readTaskAndOwner(known, now)]);
        return await run(charge, { id: known.id, user_id: known.user_id, read });
      }
      // The charge of the attempt in progress (a retried task has one per attempt).
      const task = await getTask(taskId);
      const charge = await getChargeEntry(taskId, task ? runAttempt(task) : 1);
      return await run(charge, task ?? taskId);
    } catch (error) {
      if (!(error instanceof TransactionConflictError) || round >= 3) throw error;
    }
  }
}

/**
 * After an override or a quota change on `spaceId`: users whose work waited for that space are
 * re-filed as ready (their wait is cleared; the orchestrator re-checks every task) and woken.
 */
export async function releaseWaitingUsers(spaceId: string, now: Date): Promise<number> {
  const users = await listWaiters(spaceId);
  for (const userId of users) {
    try {
      await withOptimisticRetry(async () => {
        const user = await getUser(userId, now);
        if (user.version === 0 || user.next_eligible_at === null || user.next_eligible_at <= now.toISOString()) return;
        await transact([putUserItem({ ...user, next_eligible_at: null, version: user.version + 1 }, now)]);
      });
      await deleteWaiter(spaceId, userId);
    } catch (error) {
      if (!(error instanceof TransactionConflictError)) throw error;
      // Busy account: the marker stays, and the user's own re-check (at most minutes away) runs anyway.
      logger.warn('could not re-file a waiting user', { space_id: spaceId, user_id: userId });
    }
  }
  if (users.length > 0) await wakeOrchestrator('quota-changed');
  return users.length;
}
