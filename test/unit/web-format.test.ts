import { describe, expect, it } from 'vitest';
import { deadlineAnswer, elapsed, estimatedTime, estimateSentence, executionBadge, waitingReason } from '../../web/src/format.js';

describe('the dashboard says what a task is doing in words', () => {
  it.each([
    [{ status: 'running', execution_location: 'local', blocked_reason: null }, '⚙️', 'Running locally', 'green'],
    [{ status: 'running', execution_location: 'remote', blocked_reason: null }, '☁️', 'Running in cloud', 'blue'],
    [{ status: 'pending', execution_location: 'remote', blocked_reason: null }, '⏳', 'Queued', 'gray'],
    [{ status: 'pending', execution_location: 'remote', blocked_reason: 'Blocked (over quota)' }, '🚫', 'Blocked (over quota)', 'red'],
    [{ status: 'claimed', execution_location: 'remote', blocked_reason: null }, '🚀', 'Starting in cloud', 'amber'],
    [{ status: 'completed', execution_location: 'remote', blocked_reason: null }, '✅', 'Completed', 'done'],
    [{ status: 'failed', execution_location: 'local', blocked_reason: null }, '❌', 'Failed', 'failed'],
    [{ status: 'cancelled', execution_location: 'local', blocked_reason: null }, '⊘', 'Cancelled', 'gray'],
  ] as const)('%o -> %s %s', (task, icon, label, tone) => {
    expect(executionBadge(task)).toEqual({ icon, label, tone });
  });

  const now = new Date('2026-10-26T01:00:00.000Z');
  it.each([
    ['blocked by quota', { status: 'pending', blocked_reason: 'Blocked (over quota)', not_before: null }, null, 'Blocked (over quota)'],
    ['scheduled for later', { status: 'pending', blocked_reason: null, not_before: '2026-10-26T02:00:00.000Z' }, null, 'starts at 02:00'],
    ['every slot busy', { status: 'pending', blocked_reason: null, not_before: null }, { running: 1, max_concurrent: 1 }, 'waiting for a free slot: 1 of 1 running'],
    ['a slot is free', { status: 'pending', blocked_reason: null, not_before: null }, { running: 0, max_concurrent: 1 }, 'waiting to be picked up'],
    ['running', { status: 'running', blocked_reason: null, not_before: null }, { running: 1, max_concurrent: 1 }, null],
  ] as const)('why it waits: %s', (_name, task, queue, expected) => {
    expect(waitingReason(task, queue, now, 'UTC')).toBe(expected);
  });

  it('writes the estimate as the design says', () => {
    expect(estimateSentence({ estimated_credits: 5, execution_location: 'remote' })).toBe('This will cost 5 credits and run in the cloud');
    expect(estimateSentence({ estimated_credits: 0, execution_location: 'local' })).toBe('This will cost 0 credits and run locally');
    expect(estimateSentence({ estimated_credits: 1, execution_location: 'remote' })).toBe('This will cost 1 credit and run in the cloud');
    expect(estimatedTime(2000)).toBe('Estimated time: 2 seconds');
    expect(estimatedTime(15 * 60_000)).toBe('Estimated time: 15 minutes');
    expect(estimatedTime(3 * 3_600_000)).toBe('Estimated time: 3.0 hours');
  });

  it('counts elapsed time to now while running and to the end once finished', () => {
    expect(elapsed({ started_at: '2026-10-26T00:57:55.000Z', completed_at: null }, now)).toBe('2m 05s');
    expect(elapsed({ started_at: '2026-10-25T23:00:00.000Z', completed_at: '2026-10-26T00:30:00.000Z' }, now)).toBe('1h 30m');
    expect(elapsed({ started_at: null, completed_at: null }, now)).toBeNull();
  });

  it.each([
    [{ expected_finish_at: '2026-10-26T05:40:00.000Z', on_track: true, reason: null }, '2026-10-26T07:00:00.000Z', 'expected 05:40, deadline 07:00: on track'],
    [{ expected_finish_at: '2026-10-26T08:10:00.000Z', on_track: false, reason: '3 tasks ahead' }, '2026-10-26T07:00:00.000Z', 'expected 08:10, deadline 07:00: at risk (3 tasks ahead)'],
    [null, '2026-10-26T07:00:00.000Z', 'deadline 07:00'],
    [null, null, null],
  ] as const)('answers the deadline: %o', (eta, deadline, expected) => {
    expect(deadlineAnswer(eta, deadline, 'UTC')).toBe(expected);
  });
});
