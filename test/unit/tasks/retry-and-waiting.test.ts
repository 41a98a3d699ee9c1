import { describe, expect, it } from 'vitest';
import { hasAttemptsLeft, priorUsage, retryDelaySeconds, runAttempt } from '../../../src/tasks/retry-policy.js';
import { whyWaiting, type WaitingContext } from '../../../src/tasks/waiting.js';
import { estimateStartTimes } from '../../../src/batches/eta.js';
import { newTask } from '../../../src/tasks/create-task.js';
import { taskCreateSchema } from '../../../src/tasks/schemas.js';
import type { AttemptRecord } from '../../../src/tasks/task.js';

const NOW = new Date('2026-10-26T01:00:00.000Z');
const task = (body: Record<string, unknown> = {}, extra = {}) => newTask('u1', taskCreateSchema.parse({ title: 't', ...body }), NOW, extra);
const failedAttempt = (attempt: number): AttemptRecord => ({ attempt, started_at: null, ended_at: NOW.toISOString(), outcome: 'failed', failure_reason: 'tests red', hours: 0.1, used_seconds: 360, credits: 1 });
const context: WaitingContext = { now: NOW, plan: 'free', running: 1, maxConcurrent: 1, hoursResetAt: null, monthlyHours: 10, queuePosition: 1 };

describe('retry policy', () => {
  it.each([
    [60, 1, 0.5, 60],
    [60, 2, 0.5, 120],
    [60, 3, 0.5, 240],
    [60, 1, 0, 54],
    [60, 1, 0.999999, 66],
  ])('backoff %i s after attempt %i (random %f) waits about %i s', (backoff, attempt, random, expected) => {
    expect(retryDelaySeconds(backoff, attempt, random)).toBeCloseTo(expected, 3);
  });

  it('counts attempts from the history and sums what they used', () => {
    const retried = task({ max_attempts: 3 }, { attempt_history: [failedAttempt(1), failedAttempt(2)] });
    expect(runAttempt(retried)).toBe(3);
    expect(hasAttemptsLeft(retried)).toBe(false);
    expect(hasAttemptsLeft(task({ max_attempts: 2 }))).toBe(true);
    expect(hasAttemptsLeft(task())).toBe(false);
    expect(priorUsage(retried)).toEqual({ seconds: 720, credits: 2 });
  });

  it.each([0, 6, 1.5])('refuses max_attempts %s', (value) => {
    expect(taskCreateSchema.safeParse({ title: 't', max_attempts: value }).success).toBe(false);
  });
});

describe('why a pending task waits', () => {
  it.each([
    ['a busy slot', task(), context, 'slot', '1 of 1 agents running on the free plan'],
    ['tasks ahead', task(), { ...context, running: 1, maxConcurrent: 3, plan: 'pro', queuePosition: 3 }, 'slot', '1 of 3 agents running on the pro plan; 2 tasks ahead'],
    ['a later start', task({ not_before: '2026-10-26T05:00:00Z' }), context, 'not_before', 'Scheduled to start at 2026-10-26T05:00:00.000Z'],
    ['its batch', task({}, { batch_id: 'b1', not_before: '2026-10-26T05:00:00.000Z' }), context, 'batch_start', 'Its batch starts at 2026-10-26T05:00:00.000Z'],
    ['a retry', task({ max_attempts: 3 }, { not_before: '2026-10-26T01:02:00.000Z', attempt_history: [failedAttempt(1)] }), context, 'not_before', 'Retry: attempt 2 of 3 starts at 2026-10-26T01:02:00.000Z after attempt 1 failed: tests red'],
    ['hours', task(), { ...context, running: 0, hoursResetAt: new Date('2026-11-01T00:00:00Z') }, 'monthly_hours', 'All 10 agent-hours of this billing cycle on the free plan are used; they reset at 2026-11-01T00:00:00.000Z'],
    ['credits', task({}, { blocked_reason: 'Blocked (over quota)', space_id: 's1' }), { ...context, running: 0 }, 'credits', 'Blocked (over quota): the monthly credit limit of space s1 is reached; it starts after the reset or an override'],
    ['no slot at all', task(), { ...context, running: 0, maxConcurrent: 0 }, 'slot', 'Your limits allow 0 agents at once on the free plan; it starts when an admin raises them'],
    ['a device', task({}, { execution_location: 'local', executor_id: 'tauri:mac' }), context, 'device', 'Waiting for device tauri:mac to lease it'],
  ] as const)('waits for %s', (_, pending, ctx, reason, message) => {
    expect(whyWaiting(pending, ctx)).toMatchObject({ waiting_for: reason, waiting_message: message });
  });
});

describe('expected start times (the batch ETA list simulation)', () => {
  it('queues behind running work, lane by lane, and lets later work pass a task that may not start yet', () => {
    const starts = estimateStartTimes({
      now: NOW,
      slots: 2,
      runningRemainingMinutes: [30],
      queued: [
        { minutes: 60, earliestAt: null },
        { minutes: 10, earliestAt: new Date('2026-10-26T03:00:00Z') },
        { minutes: 20, earliestAt: null },
      ],
      fallbackMinutes: 30,
      maxTaskMinutes: 120,
    });
    expect(starts.map((start) => start.toISOString())).toEqual(['2026-10-26T01:00:00.000Z', '2026-10-26T03:00:00.000Z', '2026-10-26T01:30:00.000Z']);
  });
});
