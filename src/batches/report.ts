import { repositoryOutcome, type RepositoryOutcome, type Task, type TaskStatus } from '../tasks/task.js';

/** What happened to a task, in the words of the morning report. Unfinished tasks keep their status. */
export type TaskOutcome = 'completed' | 'failed' | 'timed_out' | 'cancelled' | 'pending' | 'claimed' | 'running';

/** The reason the sweeper gives a task it stopped at its timeout (src/scheduling/sweep.ts). */
export const TIMEOUT_REASON = 'Timeout';

export function taskOutcome(task: Pick<Task, 'status' | 'failure_reason'>): TaskOutcome {
  if (task.status === 'failed' && task.failure_reason === TIMEOUT_REASON) return 'timed_out';
  return task.status;
}

export interface BatchReportEntry {
  task_id: string;
  title: string;
  outcome: TaskOutcome;
  /** What the agent said it did (completed tasks). */
  summary: string | null;
  /** Why it did not complete (failed, timed out, cancelled). */
  reason: string | null;
  files_changed: string[];
  /** Repository tasks: branch, diff stat, pull request, and how to get the patch. */
  repository: RepositoryOutcome | null;
  started_at: string | null;
  completed_at: string | null;
  agent_hours: number;
  credits: number;
}

export interface BatchReportTotals {
  tasks: number;
  completed: number;
  failed: number;
  timed_out: number;
  cancelled: number;
  /** Still pending, claimed or running. */
  unfinished: number;
  agent_hours: number;
  credits: number;
  /** Files changed, summed over tasks (each task works in its own checkout). */
  files_changed: number;
  started_at: string | null;
  finished_at: string | null;
}

export interface BatchReport {
  tasks: BatchReportEntry[];
  totals: BatchReportTotals;
}

const round = (value: number, digits: number): number => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};

/** Agent-hours are shown to 4 decimals (0.36 s): a one-second demo task still counts. */
const HOURS_DIGITS = 4;
const CREDIT_DIGITS = 4;

const creditsOf = (task: Pick<Task, 'actual_credits' | 'estimated_credits'>): number => task.actual_credits ?? task.estimated_credits ?? 0;

const earliest = (values: (string | null)[]): string | null =>
  values.reduce<string | null>((min, value) => (value !== null && (min === null || value < min) ? value : min), null);
const latest = (values: (string | null)[]): string | null =>
  values.reduce<string | null>((max, value) => (value !== null && (max === null || value > max) ? value : max), null);

/**
 * The morning report of one batch run: per task what happened, with its summary or reason,
 * files, times, agent-hours (used_seconds / 3600) and credits (actual, else estimated), and the
 * totals. `tasks` are given in batch order.
 */
export function buildBatchReport(tasks: readonly Task[]): BatchReport {
  const entries = tasks.map((task): BatchReportEntry => {
    const outcome = taskOutcome(task);
    return {
      task_id: task.id,
      title: task.title,
      outcome,
      summary: task.result_summary,
      reason: outcome === 'completed' ? null : task.failure_reason,
      files_changed: task.files_changed ?? [],
      repository: repositoryOutcome(task),
      started_at: task.started_at,
      completed_at: task.completed_at,
      agent_hours: round((task.used_seconds ?? 0) / 3600, HOURS_DIGITS),
      credits: round(creditsOf(task), CREDIT_DIGITS),
    };
  });
  const count = (outcome: TaskOutcome) => entries.filter((entry) => entry.outcome === outcome).length;
  const finished = entries.filter((entry) => ['completed', 'failed', 'timed_out', 'cancelled'].includes(entry.outcome));
  const unfinished = entries.length - finished.length;
  return {
    tasks: entries,
    totals: {
      tasks: entries.length,
      completed: count('completed'),
      failed: count('failed'),
      timed_out: count('timed_out'),
      cancelled: count('cancelled'),
      unfinished,
      agent_hours: round(tasks.reduce((sum, task) => sum + (task.used_seconds ?? 0), 0) / 3600, HOURS_DIGITS),
      credits: round(tasks.reduce((sum, task) => sum + creditsOf(task), 0), CREDIT_DIGITS),
      files_changed: entries.reduce((sum, entry) => sum + entry.files_changed.length, 0),
      started_at: earliest(entries.map((entry) => entry.started_at)),
      finished_at: unfinished === 0 ? latest(finished.map((entry) => entry.completed_at)) : null,
    },
  };
}

export type BatchProgress = Record<TaskStatus, number> & { total: number; finished: boolean };

/** Counts of a batch run's tasks by status; `finished` once none is pending, claimed or running. */
export function batchProgress(tasks: readonly Pick<Task, 'status'>[]): BatchProgress {
  const progress: BatchProgress = {
    total: tasks.length,
    pending: 0,
    claimed: 0,
    running: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
    finished: false,
  };
  for (const task of tasks) progress[task.status] += 1;
  progress.finished = progress.pending + progress.claimed + progress.running === 0;
  return progress;
}
