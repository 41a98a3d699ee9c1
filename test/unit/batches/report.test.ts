import { describe, expect, it } from 'vitest';
import { batchProgress, buildBatchReport, taskOutcome } from '../../../src/batches/report.js';
import type { Task } from '../../../src/tasks/task.js';

const base: Task = {
  id: 't',
  user_id: 'u',
  title: 'task',
  description: '',
  project_id: null,
  space_id: 'personal:u',
  group_id: null,
  batch_id: 'b',
  type: 'agent',
  integration: null,
  action: null,
  input: null,
  priority: 3,
  status: 'pending',
  execution_preference: 'auto',
  execution_location: 'remote',
  executor_id: null,
  model: null,
  model_params: null,
  estimated_tokens: null,
  estimated_minutes: null,
  estimated_credits: 0,
  actual_credits: null,
  not_before: null,
  created_at: '2026-03-01T22:00:00.000Z',
  claimed_at: null,
  started_at: null,
  completed_at: null,
  timeout_at: null,
  reserved_seconds: null,
  hours_window: null,
  used_seconds: null,
  sandbox_id: null,
  attempts: 0,
  result_summary: null,
  files_changed: null,
  failure_reason: null,
  blocked_reason: null,
  callback_token_hash: null,
};

const task = (overrides: Partial<Task>): Task => ({ ...base, ...overrides });

const completed = task({
  id: 'a',
  title: 'Update lodash',
  status: 'completed',
  result_summary: 'Bumped lodash to 4.17.21',
  files_changed: ['package.json', 'package-lock.json'],
  started_at: '2026-03-01T23:00:00.000Z',
  completed_at: '2026-03-01T23:30:00.000Z',
  used_seconds: 1800,
  estimated_credits: 2,
  actual_credits: 1.5,
});
const timedOut = task({
  id: 'b',
  title: 'Refactor parser',
  status: 'failed',
  failure_reason: 'Timeout',
  started_at: '2026-03-01T23:30:00.000Z',
  completed_at: '2026-03-02T00:00:00.000Z',
  used_seconds: 1800,
  estimated_credits: 3,
});
const failed = task({ id: 'c', title: 'Fix flaky test', status: 'failed', failure_reason: 'exit code 1', used_seconds: 60, started_at: '2026-03-02T00:00:00.000Z', completed_at: '2026-03-02T00:01:00.000Z' });
const cancelled = task({ id: 'd', title: 'Docs', status: 'cancelled', failure_reason: 'Cancelled by user', used_seconds: 0, completed_at: '2026-03-02T00:05:00.000Z' });

describe('taskOutcome', () => {
  it.each([
    { status: 'completed', reason: null, expected: 'completed' },
    { status: 'failed', reason: 'Timeout', expected: 'timed_out' },
    { status: 'failed', reason: 'exit code 1', expected: 'failed' },
    { status: 'cancelled', reason: 'Cancelled by user', expected: 'cancelled' },
    { status: 'running', reason: null, expected: 'running' },
    { status: 'pending', reason: null, expected: 'pending' },
  ] as const)('$status / $reason -> $expected', ({ status, reason, expected }) => {
    expect(taskOutcome({ status, failure_reason: reason })).toBe(expected);
  });
});

describe('buildBatchReport', () => {
  it('tells each task’s story: outcome, summary or reason, files, times, hours and credits', () => {
    const report = buildBatchReport([completed, timedOut, failed, cancelled]);

    expect(report.tasks).toEqual([
      {
        task_id: 'a',
        title: 'Update lodash',
        outcome: 'completed',
        summary: 'Bumped lodash to 4.17.21',
        reason: null,
        files_changed: ['package.json', 'package-lock.json'],
        repository: null,
        started_at: '2026-03-01T23:00:00.000Z',
        completed_at: '2026-03-01T23:30:00.000Z',
        agent_hours: 0.5,
        credits: 1.5,
      },
      expect.objectContaining({ task_id: 'b', outcome: 'timed_out', reason: 'Timeout', agent_hours: 0.5, credits: 3, files_changed: [] }),
      expect.objectContaining({ task_id: 'c', outcome: 'failed', reason: 'exit code 1', agent_hours: 0.0167 }),
      expect.objectContaining({ task_id: 'd', outcome: 'cancelled', reason: 'Cancelled by user', agent_hours: 0, started_at: null }),
    ]);
  });

  it('adds up the night: counts by outcome, hours, credits, files, first start and last finish', () => {
    const { totals } = buildBatchReport([completed, timedOut, failed, cancelled]);

    expect(totals).toEqual({
      tasks: 4,
      completed: 1,
      failed: 1,
      timed_out: 1,
      cancelled: 1,
      unfinished: 0,
      agent_hours: 1.0167,
      credits: 4.5,
      files_changed: 2,
      started_at: '2026-03-01T23:00:00.000Z',
      finished_at: '2026-03-02T00:05:00.000Z',
    });
  });

  it.each([
    { case: 'a run still going has no finish time', tasks: [completed, task({ id: 'e', status: 'running', started_at: '2026-03-01T23:30:00.000Z' })], unfinished: 1, finished: null },
    { case: 'an empty run', tasks: [], unfinished: 0, finished: null },
    { case: 'a one-second task still shows its hours', tasks: [task({ status: 'completed', used_seconds: 1, completed_at: '2026-03-01T22:00:01.000Z' })], unfinished: 0, finished: '2026-03-01T22:00:01.000Z' },
  ])('$case', ({ tasks, unfinished, finished }) => {
    const { totals } = buildBatchReport(tasks);
    expect(totals.unfinished).toBe(unfinished);
    expect(totals.finished_at).toBe(finished);
    expect(totals.agent_hours).toBe(Math.round((tasks.reduce((s, t) => s + (t.used_seconds ?? 0), 0) / 3600) * 10_000) / 10_000);
  });
});

describe('batchProgress', () => {
  it.each([
    { case: 'nothing started', statuses: ['pending', 'pending'], expected: { total: 2, pending: 2, finished: false } },
    { case: 'one running', statuses: ['running', 'pending', 'completed'], expected: { total: 3, running: 1, pending: 1, completed: 1, finished: false } },
    { case: 'all done, some failed', statuses: ['completed', 'failed', 'cancelled'], expected: { total: 3, completed: 1, failed: 1, cancelled: 1, finished: true } },
  ] as const)('$case', ({ statuses, expected }) => {
    expect(batchProgress(statuses.map((status) => ({ status })))).toMatchObject(expected);
  });
});

describe('the morning report of repository tasks', () => {
  const base = 'a'.repeat(40);
  const head = 'b'.repeat(40);
  const repoTask = (id: string, extra: Record<string, unknown>) =>
    ({
      id,
      title: id,
      status: 'completed',
      failure_reason: null,
      result_summary: 'done',
      files_changed: ['src/app.ts'],
      started_at: null,
      completed_at: null,
      used_seconds: 60,
      actual_credits: 0,
      estimated_credits: 0,
      repository: { repo_url: '/srv/app', base_ref: 'main', push: true, pull_requests: false },
      branch: `nightshift/${id}`,
      base_commit: base,
      head_commit: head,
      diff_stat: { files: 1, insertions: 3, deletions: 1 },
      pull_request_url: null,
      push_error: null,
      ...extra,
    }) as unknown as Parameters<typeof buildBatchReport>[0][number];

  it('shows the branch, the diff stat and how to get the patch', () => {
    const [pushed, rejected] = buildBatchReport([repoTask('t1', {}), repoTask('t2', { push_error: 'rejected' })]).tasks;
    expect(pushed?.repository).toEqual({
      branch: 'nightshift/t1',
      base_commit: base,
      head_commit: head,
      diff_stat: { files: 1, insertions: 3, deletions: 1 },
      pull_request_url: null,
      push_error: null,
      diff_url: '/api/v1/tasks/t1/diff',
      fetch_command: 'git fetch /srv/app nightshift/t1',
    });
    // A branch that was not pushed cannot be fetched; the diff URL still works.
    expect(rejected?.repository).toMatchObject({ push_error: 'rejected', fetch_command: null, diff_url: '/api/v1/tasks/t2/diff' });
  });
});
