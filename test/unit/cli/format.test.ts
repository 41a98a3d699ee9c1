import { describe, expect, it } from 'vitest';
import { batchProgressLine, batchReportText, deadlineAnswer, queueStatusText, repositoryLines, styleFor, table, taskTable } from '../../../cli/format.js';
import { taskResponseSchema } from '../../../src/tasks/responses.js';
import type { Schemas, Task } from '../../../src/client/client.js';

const plain = { color: false };
const EXAMPLE = (taskResponseSchema.meta()?.examples as Task[])[0]!;
const task = (fields: Partial<Task>): Task => ({ ...EXAMPLE, ...fields });

describe('terminal style', () => {
  it.each([
    [true, {}, true],
    [false, {}, false],
    [true, { NO_COLOR: '1' }, false],
    [true, { NO_COLOR: '' }, true],
  ])('a TTY %s with env %j colours: %s', (isTTY, env, color) => {
    expect(styleFor({ isTTY }, env as NodeJS.ProcessEnv).color).toBe(color);
  });
});

describe('the task table', () => {
  const now = new Date('2026-10-26T02:00:00Z');

  it('shows title, status with the execution badge, position, what it waits for, started, duration, credits and id in aligned columns', () => {
    const text = taskTable(
      [
        task({ id: 't1', title: 'Fix the flaky login test', status: 'pending', queue_position: 1, blocked_reason: 'monthly hours used up', waiting_for: 'monthly_hours', expected_start_at: '2026-11-01T00:00:00.000Z' }),
        task({ id: 't2', title: 'Upgrade', status: 'running', queue_position: null, execution_location: 'local', started_at: '2026-10-26T01:48:00Z', estimated_credits: 1.5, waiting_for: null, expected_start_at: null }),
        task({ id: 't3', title: 'Notes', status: 'completed', queue_position: null, started_at: '2026-10-26T01:00:00Z', completed_at: '2026-10-26T01:00:41Z', actual_credits: 0.2, waiting_for: null, expected_start_at: null }),
      ],
      plain,
      now,
    );
    const [header, ...rows] = text.split('\n');
    expect(header).toMatch(/^TITLE\s+STATUS\s+POS\s+WAITING\s+STARTED\s+DURATION\s+CREDITS\s+ID$/);
    expect(rows[0]).toMatch(/^Fix the flaky login test\s+pending \[remote\] blocked\s+#1\s+monthly_hours ~00:00\s+-\s+-\s+0\s+t1$/);
    expect(rows[1]).toMatch(/^Upgrade\s+running \[local\]\s+-\s+-\s+2026-10-26 01:48\s+12m 00s\s+1.5\s+t2$/);
    expect(rows[2]).toMatch(/41s\s+0.2\s+t3$/);
    // Every row's STATUS column starts where the header's does.
    const column = header!.indexOf('STATUS');
    for (const row of rows) expect(row[column - 1]).toBe(' ');
  });

  it('says so when there is nothing', () => expect(taskTable([], plain, now)).toBe('No tasks.'));

  it('aligns coloured cells by their visible width', () => {
    const text = table(['A', 'B'], [['\u001b[32mok\u001b[0m', 'x'], ['long', 'y']]);
    const strip = (line: string) => line.split('\u001b[32m').join('').split('\u001b[0m').join('');
    expect(text.split('\n').map(strip)).toEqual(['A     B', 'ok    x', 'long  y']);
  });
});

const batchView = (fields: Partial<Schemas['BatchView']>): Schemas['BatchView'] => ({
  id: 'b1',
  name: 'tonight',
  status: 'active',
  task_count: 5,
  not_before: null,
  deadline: '2026-10-26T06:00:00.000Z',
  deadline_offset_seconds: null,
  timezone: 'Europe/Berlin',
  schedule: null,
  next_occurrence_at: null,
  last_occurrence_key: 'once',
  occurrence_count: 1,
  created_at: '2026-10-25T22:00:00.000Z',
  cancelled_at: null,
  occurrence: null,
  progress: { pending: 2, claimed: 0, running: 1, completed: 1, failed: 1, cancelled: 0, total: 5, finished: false },
  eta: { expected_finish_at: '2026-10-26T04:40:00.000Z', on_track: true, reason: null },
  ...fields,
});

describe('batch progress and the deadline answer', () => {
  it('reads "expected 05:40, deadline 07:00: on track" in the batch time zone', () => {
    expect(deadlineAnswer(batchView({}))).toBe('expected 05:40, deadline 07:00: on track');
  });

  it('says why a batch is at risk, and leaves out the deadline when there is none', () => {
    expect(deadlineAnswer(batchView({ eta: { expected_finish_at: '2026-10-26T06:30:00.000Z', on_track: false, reason: 'one agent at a time' } }))).toBe(
      'expected 07:30, deadline 07:00: at risk (one agent at a time)',
    );
    expect(deadlineAnswer(batchView({ deadline: null, eta: { expected_finish_at: '2026-10-26T04:40:00.000Z', on_track: null, reason: null } }))).toBe('expected 05:40');
  });

  it('counts done / running / queued / failed with the elapsed time and the ETA', () => {
    expect(batchProgressLine(batchView({}), 754_000, plain)).toBe('tonight: 1 done / 1 running / 2 queued / 1 failed of 5, 12m 34s elapsed, ETA 05:40');
  });
});

describe('the morning report', () => {
  const report: Schemas['BatchReport'] = {
    batch_id: 'b1',
    name: 'tonight',
    status: 'active',
    schedule: null,
    occurrence: { key: 'once', scheduled_for: null, state: 'enqueued', skipped_reason: null, deadline: null },
    occurrences: ['once'],
    tasks: [
      { task_id: 't1', title: 'Fix the login test', outcome: 'completed', summary: 'Fixed a race\nin setup', reason: null, files_changed: ['a.ts'], repository: null, started_at: '2026-10-26T01:00:00Z', completed_at: '2026-10-26T01:12:00Z', agent_hours: 0.2, credits: 1 },
      { task_id: 't2', title: 'Upgrade', outcome: 'timed_out', summary: null, reason: 'Timeout', files_changed: [], repository: null, started_at: '2026-10-26T01:12:00Z', completed_at: '2026-10-26T01:42:00Z', agent_hours: 0.5, credits: 0 },
    ],
    totals: { tasks: 2, completed: 1, failed: 0, timed_out: 1, cancelled: 0, unfinished: 0, agent_hours: 0.7, credits: 1, files_changed: 1, started_at: '2026-10-26T01:00:00Z', finished_at: '2026-10-26T01:42:00Z' },
  };

  it('tells each task with a mark and words (not colour alone), its summary or reason, and the totals', () => {
    expect(batchReportText(report, plain).split('\n')).toEqual([
      'tonight (b1) — run once',
      '✓ completed Fix the login test  (12m 00s, 0.2 h, 1 credits)',
      '    Fixed a race in setup',
      '    files: a.ts',
      '⏱ timed_out Upgrade  (30m 00s, 0.5 h, 0 credits)',
      '    Timeout',
      'Totals: 1/2 completed, 0 failed, 1 timed out, 0 cancelled, 0 unfinished; 0.7 agent-hours, 1 credits, 1 files changed, 01:00–01:42 UTC',
    ]);
  });

  it('gives a repository task its branch and stat, its pull request or push error, and how to get the patch', () => {
    const repository = { branch: 'nightshift/t3', base_commit: 'a', head_commit: 'b', diff_stat: { files: 2, insertions: 8, deletions: 1 }, pull_request_url: 'https://github.example/o/r/pull/7', push_error: null, diff_url: '/api/v1/tasks/t3/diff', fetch_command: 'git fetch https://example/r.git nightshift/t3' };
    const pushed = { ...report, tasks: [{ ...report.tasks[0]!, task_id: 't3', repository }] };
    expect(batchReportText(pushed, plain).split('\n').slice(3, 7)).toEqual([
      '    files: a.ts',
      '    branch nightshift/t3 (2 files, +8 -1)',
      '    pull request https://github.example/o/r/pull/7',
      '    patch: nightshift diff t3  or  git fetch https://example/r.git nightshift/t3',
    ]);
    const rejected = { ...repository, pull_request_url: null, push_error: 'remote: permission denied', fetch_command: null };
    expect(repositoryLines('t3', rejected)).toEqual(['branch nightshift/t3 (2 files, +8 -1)', 'push failed: remote: permission denied', 'patch: nightshift diff t3']);
    expect(repositoryLines('t3', { ...rejected, push_error: null, diff_stat: { files: 0, insertions: 0, deletions: 0 } })).toEqual(['branch nightshift/t3 (no changes)']);
    expect(repositoryLines('t4', { ...rejected, branch: null })).toEqual([]);
  });

  it('colours only when asked', () => {
    expect(batchReportText(report, plain)).not.toContain('\u001b[');
    expect(batchReportText(report, { color: true })).toContain('\u001b[32m');
  });
});

describe('nightshift status', () => {
  it('says how the queue stands and why the next task waits', () => {
    const text = queueStatusText({
      running: 1,
      pending: 2,
      max_concurrent: 1,
      can_start_more: false,
      monthly_hours_used: 1.5,
      monthly_hours_limit: 10,
      blocked_reason: null,
      waiting_for: 'slot',
      waiting_message: '1 of 1 agents running on the free plan',
      next_expected_start_at: '2026-10-26T02:30:00.000Z',
      waiting_counts: { slot: 1, not_before: 1, monthly_hours: 0, credits: 0, device: 0, batch_start: 0 },
    });
    expect(text.split('\n')).toEqual([
      '1 of 1 agents running, 2 pending; 1.5 of 10 agent-hours used',
      'Next: 1 of 1 agents running on the free plan; expected to start about 2026-10-26T02:30:00.000Z',
      'Waiting for: slot 1, not_before 1',
    ]);
  });
});
