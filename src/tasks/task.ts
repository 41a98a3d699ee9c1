/** A task as stored and as the domain sees it (wire names, snake_case, as in the API). */

export const TASK_STATUSES = ['pending', 'claimed', 'running', 'completed', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set(['completed', 'failed', 'cancelled']);
/** Statuses that hold one of the user's concurrency slots. */
export const ACTIVE_STATUSES: ReadonlySet<TaskStatus> = new Set(['claimed', 'running']);

export const EXECUTION_PREFERENCES = ['local', 'remote', 'auto', 'cost_optimized', 'performance_optimized'] as const;
export type ExecutionPreference = (typeof EXECUTION_PREFERENCES)[number];
export type ExecutionLocation = 'local' | 'remote';

/** What a repository task carries from its project, fixed when it is queued (never credentials). */
export interface TaskRepository {
  repo_url: string;
  /** The project's default branch, or the task's `base_ref`. */
  base_ref: string;
  /** Whether the branch goes back to the repository (local ones always; remote ones with `push`). */
  push: boolean;
  pull_requests: boolean;
}

export interface DiffStat {
  files: number;
  insertions: number;
  deletions: number;
}

/** The agent's own report on a repository task, kept until Nightshift has committed its work. */
export interface AgentReport {
  status: 'completed' | 'failed';
  summary: string | null;
  error: string | null;
  tokens_used: number | null;
}

export interface Task {
  id: string;
  user_id: string;
  title: string;
  description: string;
  project_id: string | null;
  space_id: string;
  group_id: string | null;
  batch_id: string | null;
  type: 'agent' | 'action';
  integration: string | null;
  action: string | null;
  input: Record<string, unknown> | null;
  priority: number;
  status: TaskStatus;
  execution_preference: ExecutionPreference;
  execution_location: ExecutionLocation;
  executor_id: string | null;
  model: string | null;
  model_params: Record<string, unknown> | null;
  estimated_tokens: number | null;
  estimated_minutes: number | null;
  estimated_credits: number;
  actual_credits: number | null;
  not_before: string | null;
  created_at: string;
  claimed_at: string | null;
  started_at: string | null;
  completed_at: string | null;
  timeout_at: string | null;
  /** Seconds of monthly agent time reserved at claim (the task's timeout). */
  reserved_seconds: number | null;
  /** Billing-window start (ISO date) the reservation was taken from. */
  hours_window: string | null;
  used_seconds: number | null;
  sandbox_id: string | null;
  attempts: number;
  result_summary: string | null;
  files_changed: string[] | null;
  failure_reason: string | null;
  blocked_reason: string | null;
  /** Set when a completion's result fields were cut to fit the item limit (says what was cut). */
  result_truncated?: string | null;
  /** Why the task runs where it does when that changed after create (e.g. re-routed to the cloud). */
  routing_note?: string | null;
  callback_token_hash: string | null;
  /**
   * Hash of the attempt's sandbox token: the credential of Nightshift's own sandbox wrapper, which
   * the agent never sees. Only a report made with it counts as git's word on a repository task.
   */
  sandbox_token_hash?: string | null;
  /** The ref a repository task starts from, as the caller asked (null: the project's default branch). */
  base_ref?: string | null;
  repository?: TaskRepository | null;
  /** Repository tasks: `nightshift/<task-id>`, and what git says the agent changed there. */
  branch?: string | null;
  base_commit?: string | null;
  head_commit?: string | null;
  diff_stat?: DiffStat | null;
  pull_request_url?: string | null;
  /** Why the branch could not be pushed (the task still completes). */
  push_error?: string | null;
  agent_report?: AgentReport | null;
  /** Attempts a failed run may take in all (1-5); absent on tasks written before retries existed: 1. */
  max_attempts?: number;
  /** Base of the exponential backoff between attempts. */
  retry_backoff_seconds?: number;
  /** Every attempt that ran and ended, oldest first (the one in progress is not listed yet). */
  attempt_history?: AttemptRecord[];
  /** The finished task this one was queued again from. */
  rerun_of?: string | null;
}

/** One run of a task that ended: what it used and how it went. */
export interface AttemptRecord {
  attempt: number;
  started_at: string | null;
  ended_at: string;
  outcome: 'completed' | 'failed' | 'cancelled';
  failure_reason: string | null;
  /** Agent-hours charged for this attempt. */
  hours: number;
  /** Seconds behind `hours`, exact, for the counters. */
  used_seconds: number;
  /** Credits this attempt cost after its refund (null: it was never charged). */
  credits: number | null;
}

/** What a repository task handed back, and how to get it: for the task response and the morning report. */
export interface RepositoryOutcome {
  branch: string | null;
  base_commit: string | null;
  head_commit: string | null;
  diff_stat: DiffStat | null;
  pull_request_url: string | null;
  push_error: string | null;
  /** The patch from the API. */
  diff_url: string | null;
  /** The branch from the repository it was pushed to (null when it was not pushed). */
  fetch_command: string | null;
}

export function repositoryOutcome(task: Task): RepositoryOutcome | null {
  if (!task.repository) return null;
  const done = Boolean(task.head_commit);
  const pushed = done && task.repository.push && !task.push_error;
  return {
    branch: task.branch ?? null,
    base_commit: task.base_commit ?? null,
    head_commit: task.head_commit ?? null,
    diff_stat: task.diff_stat ?? null,
    pull_request_url: task.pull_request_url ?? null,
    push_error: task.push_error ?? null,
    diff_url: done ? `/api/v1/tasks/${encodeURIComponent(task.id)}/diff` : null,
    fetch_command: pushed ? `git fetch ${task.repository.repo_url} ${task.branch}` : null,
  };
}
