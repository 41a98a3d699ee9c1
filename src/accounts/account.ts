import { billingWindow } from './billing-window.js';
import { effectiveLimits, type EffectiveLimits, type LimitOverrides, type PlanName } from './plans.js';

/**
 * A user's account as the scheduler sees it: plan, counters and the monthly hours window.
 * Every change is a read-modify-write guarded by `version`, so the counters are exact under races.
 */
export interface UserAccount {
  user_id: string;
  plan: PlanName;
  overrides: LimitOverrides;
  billing_day: number;
  version: number;
  /** Tasks in `claimed` or `running`. */
  running_count: number;
  pending_count: number;
  /**
   * Of `pending_count`, the tasks routed to a device, which wait for its lease (or the sweeper's
   * re-route), never for the orchestrator. Absent on accounts written before it existed.
   */
  device_pending_count?: number;
  /** Key of the billing window the hour counters belong to. */
  hours_window: string;
  /** Settled seconds used in `hours_window`. */
  hours_used_seconds: number;
  /** Seconds reserved by claimed and running tasks, not yet settled (carried across windows). */
  hours_reserved_seconds: number;
  /**
   * Counts every change to the set of the user's pending tasks (one queued, claimed, cancelled,
   * requeued, re-routed): the orchestrator's remembered queue head is still the head while it
   * is unchanged (scheduling/queue-heads.ts). Absent (0) on accounts written before it existed.
   */
  queue_version?: number;
  /**
   * When a task last became the orchestrator's to claim (queued, requeued, re-routed to the
   * cloud): until the `pending` index has surely caught up with it, nobody remembers this queue's
   * head. Absent on accounts written before it existed.
   */
  queued_at?: string;
  /** Earliest time a pending task may start (not_before); null = now. */
  next_eligible_at: string | null;
  last_served_at: string;
  created_at: string;
}

export function newUserAccount(userId: string, now: Date): UserAccount {
  return {
    user_id: userId,
    plan: 'free',
    overrides: {},
    billing_day: 1,
    version: 0,
    running_count: 0,
    pending_count: 0,
    device_pending_count: 0,
    hours_window: billingWindow(now, 1).key,
    hours_used_seconds: 0,
    hours_reserved_seconds: 0,
    next_eligible_at: null,
    last_served_at: new Date(0).toISOString(),
    created_at: now.toISOString(),
  };
}

export const limitsOf = (user: UserAccount, defaultMaxPending: number): EffectiveLimits =>
  effectiveLimits(user.plan, user.overrides, defaultMaxPending);

/**
 * Moves the hour counters into the window containing `now` (no reset job needed). Used hours
 * start again from zero; reservations of tasks still running carry over, because their time
 * is charged to the window in which they end, so a new window can never be overshot by them.
 */
export function rollHoursWindow(user: UserAccount, now: Date): UserAccount {
  const key = billingWindow(now, user.billing_day).key;
  if (key === user.hours_window) return user;
  return { ...user, hours_window: key, hours_used_seconds: 0 };
}

/** Seconds of agent time left in the current window (Infinity when unlimited). */
export function remainingSeconds(user: UserAccount, limits: EffectiveLimits): number {
  if (limits.monthly_agent_hours === null) return Number.POSITIVE_INFINITY;
  return Math.max(0, limits.monthly_agent_hours * 3600 - user.hours_used_seconds - user.hours_reserved_seconds);
}

/** A task is not started with less than this left: it could do no useful work. */
export const MIN_RESERVATION_SECONDS = 60;

/**
 * The seconds a claim reserves, which is also the task's timeout: the plan's max duration,
 * shortened to the hours left. 0 means the monthly hours are exhausted.
 */
export function reservationSeconds(user: UserAccount, limits: EffectiveLimits): number {
  const left = remainingSeconds(user, limits);
  const reservation = Math.min(limits.max_task_duration_minutes * 60, left);
  return reservation >= MIN_RESERVATION_SECONDS ? Math.floor(reservation) : 0;
}

export type SchedulingState =
  | { kind: 'idle' }
  | { kind: 'full' }
  | { kind: 'ready'; sortKey: string }
  | { kind: 'deferred'; until: string; reason: string | null };

const pad = (n: number): string => String(n).padStart(4, '0');

/**
 * Where the user belongs in the scheduler's indexes. `ready` users are ordered by running count,
 * then by when they were last served (round-robin), so nobody starves.
 */
export function schedulingState(user: UserAccount, limits: EffectiveLimits, now: Date): SchedulingState {
  // Work that only waits for a device is not the orchestrator's: such a user costs nothing per pass.
  if (orchestratorPendingCount(user) <= 0) return { kind: 'idle' };
  if (user.running_count >= limits.max_concurrent_agents) return { kind: 'full' };
  const rolled = rollHoursWindow(user, now);
  if (reservationSeconds(rolled, limits) === 0) {
    return {
      kind: 'deferred',
      until: billingWindow(now, user.billing_day).end.toISOString(),
      reason: 'Monthly agent hours exhausted; starts when the billing cycle resets',
    };
  }
  if (user.next_eligible_at !== null && user.next_eligible_at > now.toISOString()) {
    return { kind: 'deferred', until: user.next_eligible_at, reason: null };
  }
  return { kind: 'ready', sortKey: `${pad(user.running_count)}#${user.last_served_at}#${user.user_id}` };
}

/**
 * Settles a finished task's hours in the current window: the reservation is released and the
 * time used (never more than was reserved) is charged.
 */
export function settleHours(
  user: UserAccount,
  task: { hours_window: string | null; reserved_seconds: number | null },
  usedSeconds: number,
): UserAccount {
  if (task.hours_window === null) return user;
  const reserved = task.reserved_seconds ?? 0;
  return {
    ...user,
    hours_reserved_seconds: Math.max(0, user.hours_reserved_seconds - reserved),
    hours_used_seconds: user.hours_used_seconds + Math.min(Math.max(0, usedSeconds), reserved),
  };
}

/** Pending tasks the orchestrator may claim (those not waiting for a device's lease). */
export const orchestratorPendingCount = (user: UserAccount): number => user.pending_count - (user.device_pending_count ?? 0);

/** The fields of a task that move a user's counters when it changes status. */
export interface TaskAccounting {
  status: 'pending' | 'claimed' | 'running' | 'completed' | 'failed' | 'cancelled';
  /** A pending task routed to a device (`local` with an executor) waits for that device's lease. */
  execution_location?: 'local' | 'remote';
  executor_id?: string | null;
  not_before: string | null;
  hours_window: string | null;
  reserved_seconds: number | null;
  used_seconds: number | null;
}

const isActive = (status: TaskAccounting['status']) => status === 'claimed' || status === 'running';
const waitsForDevice = (task: TaskAccounting | null): boolean => task?.execution_location === 'local' && !!task.executor_id;

/**
 * The user's account after one of their tasks goes from `before` to `after` (before = null for a
 * new task). Pure: the caller writes task and account in one transaction guarded by `version`.
 */
export function accountForTransition(
  user: UserAccount,
  before: TaskAccounting | null,
  after: TaskAccounting,
  now: Date,
): UserAccount {
  let next: UserAccount = { ...rollHoursWindow(user, now), version: user.version + 1 };
  const wasPending = before?.status === 'pending';
  const isPending = after.status === 'pending';
  if (wasPending || isPending) next.queue_version = queueVersionOf(user) + 1;
  const wasDevice = wasPending && waitsForDevice(before);
  const isDevice = isPending && waitsForDevice(after);
  // A task the orchestrator may now claim: new, requeued, or re-routed from a device to the cloud.
  if (isPending && !isDevice && !(wasPending && !wasDevice)) {
    next.queued_at = now.toISOString();
    const eligible = after.not_before && after.not_before > now.toISOString() ? after.not_before : null;
    if (orchestratorPendingCount(next) <= 0) next.next_eligible_at = eligible;
    else if (eligible === null || next.next_eligible_at === null) next.next_eligible_at = null;
    else if (eligible < next.next_eligible_at) next.next_eligible_at = eligible;
  }
  if (wasPending && !isPending) next.pending_count = Math.max(0, next.pending_count - 1);
  if (!wasPending && isPending) next.pending_count += 1;
  if (wasDevice !== isDevice) next.device_pending_count = Math.max(0, (next.device_pending_count ?? 0) + (isDevice ? 1 : -1));
  if (!isActive(before?.status ?? 'pending') && isActive(after.status)) {
    next.running_count += 1;
    next.last_served_at = now.toISOString();
    next.hours_reserved_seconds += after.reserved_seconds ?? 0;
  }
  if (before && isActive(before.status) && !isActive(after.status)) {
    next.running_count = Math.max(0, next.running_count - 1);
    // A retried attempt goes back to pending with the time it used; a stale claim carries none.
    next = settleHours(next, before, after.used_seconds ?? 0);
  }
  return next;
}

export const queueVersionOf = (user: UserAccount): number => user.queue_version ?? 0;

/** The account after pending tasks were written without going through `accountForTransition` (a batch run's second step). */
export const withQueueMoved = (user: UserAccount, now: Date): UserAccount => ({
  ...user,
  version: user.version + 1,
  queue_version: queueVersionOf(user) + 1,
  queued_at: now.toISOString(),
});

/** The account after queueing all `tasks`: pending counter and next eligible time, one version step. */
export function reserveQueuedTasks(user: UserAccount, tasks: readonly TaskAccounting[], now: Date): UserAccount {
  let next = user;
  for (const task of tasks) next = { ...accountForTransition(next, null, task, now), version: user.version };
  return { ...next, version: user.version + 1 };
}
