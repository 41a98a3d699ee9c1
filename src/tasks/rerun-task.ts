import { TERMINAL_STATUSES, type Task } from './task.js';
import { DomainError } from '../platform/errors.js';
import { logger } from '../platform/logger.js';
import { taskCreateSchema, type TaskCreate, type TaskRerun } from './schemas.js';
import { createTask } from './create-task.js';
import { getOwnTask } from './task-views.js';

const present = <T>(value: T | null | undefined): T | undefined => (value === null ? undefined : value);

/**
 * The create body that queues `task` again: its title, description, project, space, preferences,
 * input, model and retry settings, with `overrides` applied (null clears an optional field).
 * Validated like POST /tasks, so an override that breaks the rules is a 400.
 */
export function rerunInput(task: Task, overrides: TaskRerun = {}): TaskCreate {
  const pick = <K extends keyof TaskRerun>(key: K, fallback: unknown): unknown => (key in overrides ? present(overrides[key]) : present(fallback));
  return taskCreateSchema.parse({
    title: pick('title', task.title),
    description: pick('description', task.description),
    project_id: pick('project_id', task.project_id),
    priority: pick('priority', task.priority),
    type: task.type,
    integration: present(task.integration),
    action: present(task.action),
    space_id: pick('space_id', task.space_id),
    group_id: pick('group_id', task.group_id),
    execution_preference: pick('execution_preference', task.execution_preference),
    input: pick('input', task.input),
    estimated_tokens: pick('estimated_tokens', task.estimated_tokens),
    model: pick('model', task.model),
    not_before: present(overrides.not_before),
    estimated_minutes: pick('estimated_minutes', task.estimated_minutes),
    base_ref: pick('base_ref', task.base_ref),
    max_attempts: pick('max_attempts', task.max_attempts),
    retry_backoff_seconds: pick('retry_backoff_seconds', task.retry_backoff_seconds),
  });
}

/** Refuses a task that has not finished (409 TASK_NOT_FINISHED). */
export function assertFinished(task: Task): void {
  if (!TERMINAL_STATUSES.has(task.status)) {
    throw new DomainError('TASK_NOT_FINISHED', `Task ${task.id} is ${task.status}; only a completed, failed or cancelled task can be rerun`);
  }
}

/**
 * POST /tasks/{id}/rerun: queues a new task from a finished one, pointing back with `rerun_of`,
 * under the same limits as POST /tasks (pending limit, monthly hours, space credits, routing).
 */
export async function rerunTask(userId: string, taskId: string, overrides: TaskRerun = {}, now = new Date()): Promise<Task> {
  const original = await getOwnTask(userId, taskId);
  assertFinished(original);
  const task = await createTask(userId, rerunInput(original, overrides), now, { rerun_of: original.id });
  logger.info('task rerun', { task_id: task.id, rerun_of: original.id, user_id: userId });
  return task;
}
