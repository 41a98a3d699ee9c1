import { describe, expect, it } from 'vitest';
import { buildDigest, nextDigestAt } from '../../../src/notifications/digest.js';
import type { Task } from '../../../src/tasks/task.js';

const base: Task = {
  id: 't', user_id: 'alice', title: 'A task', description: '', project_id: null, space_id: 'personal:alice', group_id: null, batch_id: null, type: 'agent',
  integration: null, action: null, input: null, priority: 3, status: 'completed', execution_preference: 'auto', execution_location: 'remote', executor_id: null,
  model: null, model_params: null, estimated_tokens: null, estimated_minutes: null, estimated_credits: 1, actual_credits: 0.5, not_before: null,
  created_at: '2026-10-25T21:00:00.000Z', claimed_at: null, started_at: '2026-10-25T22:00:00.000Z', completed_at: '2026-10-25T23:00:00.000Z', timeout_at: null,
  reserved_seconds: 3600, hours_window: null, used_seconds: 1800, sandbox_id: null, attempts: 1, result_summary: 'Fixed it', files_changed: null,
  failure_reason: null, blocked_reason: null, callback_token_hash: null,
};
const task = (patch: Partial<Task>): Task => ({ ...base, ...patch });
const window = { since: new Date('2026-10-25T06:00:00Z'), until: new Date('2026-10-26T06:00:00Z'), timezone: 'Europe/Berlin', batchNames: { b1: 'nightly' } };

describe('the morning digest', () => {
  it('sends nothing for a night with nothing to say', () => {
    expect(buildDigest({ ...window, finished: [], queued: [] })).toBeNull();
  });

  it('tells each batch run and the loose tasks: outcome, summary, branch and PR, hours, credits, why it failed', () => {
    const digest = buildDigest({
      ...window,
      finished: [
        task({ id: 'a', title: 'Refactor auth', batch_id: 'b1', branch: 'nightshift/a', pull_request_url: 'https://github.com/o/r/pull/7', attempts: 2 }),
        task({ id: 'b', title: 'Flaky test', batch_id: 'b1', status: 'failed', failure_reason: 'Timeout', result_summary: null, actual_credits: 1 }),
        task({ id: 'c', title: 'Loose one', completed_at: '2026-10-25T22:30:00.000Z' }),
      ],
      queued: [],
    });
    expect(digest).not.toBeNull();
    if (!digest) return;
    expect(digest.groups.map((g) => g.name)).toEqual(['Batch nightly', 'Tasks on their own']);
    expect(digest.groups[0]).toMatchObject({ completed: 1, failed: 1, agent_hours: 1, credits: 1.5 });
    expect(digest.groups[0]?.tasks[0]).toMatchObject({ outcome: 'completed', summary: 'Fixed it', branch: 'nightshift/a', pull_request_url: 'https://github.com/o/r/pull/7', attempts: 2 });
    expect(digest.groups[0]?.tasks[1]).toMatchObject({ outcome: 'timed_out', reason: 'Timeout' });
    expect(digest.totals).toMatchObject({ completed: 2, failed: 1, queued: 0 });
    expect(digest.text).toContain('Refactor auth: completed after 2 attempts');
    expect(digest.text).toContain('pull request https://github.com/o/r/pull/7');
    expect(digest.text).toContain('why: Timeout');
  });

  it('lists what is still queued with its expected start in the user’s zone', () => {
    const digest = buildDigest({ ...window, finished: [], queued: [{ ...task({ id: 'q', title: 'Later', status: 'pending' }), expected_start_at: '2026-10-26T08:30:00.000Z' }] });
    expect(digest?.queued).toEqual([expect.objectContaining({ title: 'Later', expected_start_at: '2026-10-26T08:30:00.000Z' })]);
    // 08:30 UTC on 26 October (after the switch to CET) is 09:30 in Berlin.
    expect(digest?.text).toContain('expected to start Mon 09:30');
  });

  it('keeps one entry per task (its latest state)', () => {
    const digest = buildDigest({ ...window, finished: [task({ id: 'a', status: 'failed', failure_reason: 'x' }), task({ id: 'a', status: 'completed' })], queued: [] });
    expect(digest?.groups[0]?.tasks).toHaveLength(1);
    expect(digest?.groups[0]?.tasks[0]?.outcome).toBe('completed');
  });

  it.each([
    ['07:00', 'Europe/Berlin', '2026-10-24T12:00:00Z', '2026-10-25T06:00:00.000Z'], // the night DST ends: 07:00 CET = 06:00 UTC
    ['07:00', 'Europe/Berlin', '2026-10-23T12:00:00Z', '2026-10-24T05:00:00.000Z'], // still CEST
    ['07:00', 'America/New_York', '2026-10-26T10:59:00Z', '2026-10-26T11:00:00.000Z'],
    ['07:00', 'America/New_York', '2026-10-26T11:00:00Z', '2026-10-27T11:00:00.000Z'], // strictly after
    ['23:30', 'Asia/Kolkata', '2026-10-26T00:00:00Z', '2026-10-26T18:00:00.000Z'],
    ['02:30', 'Europe/Berlin', '2026-03-28T12:00:00Z', '2026-03-30T00:30:00.000Z'], // 02:30 does not exist on 29 March: skipped, as EventBridge does
    ['00:00', 'UTC', '2026-12-31T23:59:59Z', '2027-01-01T00:00:00.000Z'],
  ])('next %s in %s after %s is %s', (at, zone, after, expected) => {
    expect(nextDigestAt(at, zone, new Date(after)).toISOString()).toBe(expected);
  });
});
