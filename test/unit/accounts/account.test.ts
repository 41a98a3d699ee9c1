import { describe, expect, it } from 'vitest';
import {
  accountForTransition,
  newUserAccount,
  reservationSeconds,
  rollHoursWindow,
  schedulingState,
  limitsOf,
  type TaskAccounting,
  type UserAccount,
} from '../../../src/accounts/account.js';

const NOW = new Date('2026-11-23T10:00:00Z');
const user = (patch: Partial<UserAccount> = {}): UserAccount => ({ ...newUserAccount('u1', NOW), ...patch });
const task = (patch: Partial<TaskAccounting>): TaskAccounting => ({
  status: 'pending',
  not_before: null,
  hours_window: null,
  reserved_seconds: null,
  used_seconds: null,
  ...patch,
});

describe('reservationSeconds (a task timeout: plan max, shortened to the hours left)', () => {
  it.each([
    ['free, nothing used', user(), 30 * 60],
    ['free, 9.75 h used', user({ hours_used_seconds: 9.75 * 3600 }), 15 * 60],
    ['free, 9 h used and 50 min reserved', user({ hours_used_seconds: 9 * 3600, hours_reserved_seconds: 50 * 60 }), 10 * 60],
    ['free, all used', user({ hours_used_seconds: 10 * 3600 }), 0],
    ['free, 30 s left is too little to start', user({ hours_used_seconds: 10 * 3600 - 30 }), 0],
    ['pro', user({ plan: 'pro' }), 120 * 60],
    ['team is unlimited', user({ plan: 'team', hours_used_seconds: 10_000 * 3600 }), 240 * 60],
    ['override of duration', user({ overrides: { max_task_duration_minutes: 5 } }), 5 * 60],
  ])('%s -> %i s', (_name, account, expected) => {
    expect(reservationSeconds(account, limitsOf(account, 50))).toBe(expected);
  });
});

describe('schedulingState (where the scheduler files a user)', () => {
  it.each([
    ['no pending work', user(), 'idle'],
    ['pending and a free slot', user({ pending_count: 2 }), 'ready'],
    ['all slots taken', user({ pending_count: 2, running_count: 1 }), 'full'],
    ['hours exhausted', user({ pending_count: 1, hours_used_seconds: 36_000 }), 'deferred'],
    ['waiting for not_before', user({ pending_count: 1, next_eligible_at: '2026-11-23T23:00:00.000Z' }), 'deferred'],
    ['not_before passed', user({ pending_count: 1, next_eligible_at: '2026-11-23T09:00:00.000Z' }), 'ready'],
    ['last month exhausted, new window', user({ pending_count: 1, hours_window: '2026-10-01', hours_used_seconds: 36_000 }), 'ready'],
  ])('%s -> %s', (_name, account, kind) => {
    expect(schedulingState(account, limitsOf(account, 50), NOW).kind).toBe(kind);
  });

  it('orders ready users by running count, then by who was served longest ago', () => {
    const a = schedulingState(user({ user_id: 'a', pending_count: 1, running_count: 0, last_served_at: '2026-11-23T09:00:00.000Z', plan: 'pro' }), limitsOf(user({ plan: 'pro' }), 50), NOW);
    const b = schedulingState(user({ user_id: 'b', pending_count: 1, running_count: 1, last_served_at: '2026-11-23T08:00:00.000Z', plan: 'pro' }), limitsOf(user({ plan: 'pro' }), 50), NOW);
    const c = schedulingState(user({ user_id: 'c', pending_count: 1, running_count: 0, last_served_at: '2026-11-23T08:00:00.000Z', plan: 'pro' }), limitsOf(user({ plan: 'pro' }), 50), NOW);
    const keys = [a, b, c].map((s) => (s.kind === 'ready' ? s.sortKey : ''));
    expect([...keys].sort()).toEqual([keys[2], keys[0], keys[1]]);
  });

  it('tells why hours block the user and when they reset', () => {
    const state = schedulingState(user({ pending_count: 1, hours_used_seconds: 36_000 }), limitsOf(user(), 50), NOW);
    expect(state).toEqual({ kind: 'deferred', until: '2026-12-01T00:00:00.000Z', reason: expect.stringContaining('exhausted') });
  });
});

describe('accountForTransition (counters move with task status)', () => {
  it('counts a new pending task and remembers the earliest not_before', () => {
    const later = accountForTransition(user(), null, task({ not_before: '2026-11-24T01:00:00.000Z' }), NOW);
    expect(later).toMatchObject({ pending_count: 1, next_eligible_at: '2026-11-24T01:00:00.000Z', version: 1 });
    const sooner = accountForTransition(later, null, task({ not_before: '2026-11-23T23:00:00.000Z' }), NOW);
    expect(sooner.next_eligible_at).toBe('2026-11-23T23:00:00.000Z');
    const now = accountForTransition(sooner, null, task({}), NOW);
    expect(now.next_eligible_at).toBeNull();
    expect(now.pending_count).toBe(3);
  });

  it('keeps work waiting for a device out of the orchestrator, and brings it in when it is re-routed to the cloud', () => {
    const device = { execution_location: 'local' as const, executor_id: 'tauri:mac' };
    const queued = accountForTransition(user({ next_eligible_at: '2026-11-23T11:00:00.000Z' }), null, task(device), NOW);
    expect(queued).toMatchObject({ pending_count: 1, device_pending_count: 1 });
    expect(schedulingState(queued, limitsOf(queued, 50), NOW)).toEqual({ kind: 'idle' });
    const rerouted = accountForTransition(queued, task(device), task({ execution_location: 'remote', executor_id: null }), NOW);
    expect(rerouted).toMatchObject({ pending_count: 1, device_pending_count: 0, next_eligible_at: null });
    expect(schedulingState(rerouted, limitsOf(rerouted, 50), NOW).kind).toBe('ready');
    const leased = accountForTransition(queued, task(device), task({ ...device, status: 'running' }), NOW);
    expect(leased).toMatchObject({ pending_count: 0, device_pending_count: 0, running_count: 1 });
  });

  it('a claim takes a slot and reserves hours; completion frees it and charges only what was used', () => {
    const start = user({ pending_count: 1 });
    const claimed = accountForTransition(start, task({}), task({ status: 'claimed', hours_window: start.hours_window, reserved_seconds: 1800 }), NOW);
    expect(claimed).toMatchObject({ pending_count: 0, running_count: 1, hours_reserved_seconds: 1800, hours_used_seconds: 0 });
    const done = accountForTransition(
      claimed,
      task({ status: 'running', hours_window: start.hours_window, reserved_seconds: 1800 }),
      task({ status: 'completed', hours_window: start.hours_window, reserved_seconds: 1800, used_seconds: 600 }),
      NOW,
    );
    expect(done).toMatchObject({ running_count: 0, hours_reserved_seconds: 0, hours_used_seconds: 600 });
  });

  it('moves the queue version when a task enters or leaves the pending queue, never when one only starts or ends', () => {
    const queued = accountForTransition(user({ queue_version: 7 }), null, task({}), NOW);
    expect(queued.queue_version).toBe(8);
    const claimed = accountForTransition(queued, task({}), task({ status: 'claimed', hours_window: queued.hours_window, reserved_seconds: 60 }), NOW);
    expect(claimed.queue_version).toBe(9);
    const running = accountForTransition(claimed, task({ status: 'claimed' }), task({ status: 'running' }), NOW);
    const done = accountForTransition(running, task({ status: 'running' }), task({ status: 'completed', used_seconds: 10 }), NOW);
    expect([running.queue_version, done.queue_version]).toEqual([9, 9]);
    expect(done.version).toBe(claimed.version + 2);
    const retried = accountForTransition(running, task({ status: 'running' }), task({ status: 'pending', used_seconds: 10 }), NOW);
    expect(retried.queue_version).toBe(10);
    // A task that becomes claimable says when; one that only leaves the queue does not.
    expect([queued.queued_at, claimed.queued_at, retried.queued_at]).toEqual([NOW.toISOString(), NOW.toISOString(), NOW.toISOString()]);
    // An account written before the field existed counts from 0.
    expect(accountForTransition(user(), null, task({}), NOW).queue_version).toBe(1);
  });

  it('never charges more than was reserved', () => {
    const running = user({ running_count: 1, hours_reserved_seconds: 600 });
    const done = accountForTransition(
      running,
      task({ status: 'running', hours_window: running.hours_window, reserved_seconds: 600 }),
      task({ status: 'failed', hours_window: running.hours_window, reserved_seconds: 600, used_seconds: 5000 }),
      NOW,
    );
    expect(done.hours_used_seconds).toBe(600);
  });

  it('a stale claim returned to pending refunds its whole reservation', () => {
    const claimed = user({ running_count: 1, hours_reserved_seconds: 1800 });
    const back = accountForTransition(claimed, task({ status: 'claimed', hours_window: claimed.hours_window, reserved_seconds: 1800 }), task({ status: 'pending' }), NOW);
    expect(back).toMatchObject({ running_count: 0, pending_count: 1, hours_reserved_seconds: 0, hours_used_seconds: 0 });
  });

  it('a task running across the billing reset is charged in the window where it ends, once', () => {
    const lastMonth = user({ running_count: 1, hours_window: '2026-10-01', hours_used_seconds: 7200, hours_reserved_seconds: 1800 });
    // The reservation still counts in the new window, so new claims cannot overshoot it.
    expect(rollHoursWindow(lastMonth, NOW)).toMatchObject({ hours_window: '2026-11-01', hours_used_seconds: 0, hours_reserved_seconds: 1800 });
    const done = accountForTransition(
      lastMonth,
      task({ status: 'running', hours_window: '2026-10-01', reserved_seconds: 1800 }),
      task({ status: 'completed', hours_window: '2026-10-01', reserved_seconds: 1800, used_seconds: 1000 }),
      NOW,
    );
    expect(done).toMatchObject({ hours_window: '2026-11-01', running_count: 0, hours_used_seconds: 1000, hours_reserved_seconds: 0 });
  });
});
