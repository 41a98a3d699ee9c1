/** A task as stored and as the domain sees it (wire names, snake_case, as in the API). */

export const TASK_STATUSES = ['pending', 'claimed', 'running', 'completed', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set(['completed', 'failed', 'cancelled']);
/** Statuses that hold one of the user's concurrency slots. */
export const ACTIVE_STATUSES: ReadonlySet<TaskStatus> = new Set(['claimed', 'running']);

export const EXECUTION_PREFERENCES = ['local', 'remote', 'auto', 'cost_optimized', 'performance_optimized'] as const;
export type ExecutionPreference = (typeof EXECUTION_PREFERENCES)[number];
export type ExecutionLocation = 'local' | 'remote';

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
}
