import { getConfig } from '../platform/config.js';
import { type Task, type TaskStatus } from './task.js';
import { limitsOf, remainingSeconds, rollHoursWindow, schedulingState } from '../accounts/account.js';
import { TaskNotFoundError } from '../platform/errors.js';
import { getTask, listPendingTasks, listUserTasks, pendingSortKey } from './task-store.js';
import { getUser } from '../accounts/user-store.js';
import { hours } from '../accounts/limits.js';

/** The task if it belongs to `userId`; another user's task is reported as not found. */
export async function getOwnTask(userId: string, taskId: string): Promise<Task> {
  const task = await getTask(taskId);
  if (!task || task.user_id !== userId) throw new TaskNotFoundError(taskId);
  return task;
}

export interface TaskView {
  task: Task;
  queue_position: number | null;
  blocked_reason: string | null;
}

/** Adds what depends on the user's queue: position among pending tasks and why a task waits. */
export async function viewTasks(userId: string, tasks: Task[], now = new Date()): Promise<TaskView[]> {
  const anyPending = tasks.some((task) => task.status === 'pending');
  const pending = anyPending ? await listPendingTasks(userId) : [];
  const user = anyPending ? await getUser(userId, now) : null;
  const state = user ? schedulingState(user, limitsOf(user, getConfig().maxPendingPerUser), now) : null;
  const order = new Map(pending.map((task, index) => [pendingSortKey(task), index + 1]));
  return tasks.map((task) => {
    if (task.status !== 'pending') return { task, queue_position: null, blocked_reason: task.blocked_reason };
    const blocked = state?.kind === 'deferred' && state.reason ? state.reason : task.blocked_reason;
    return { task, queue_position: order.get(pendingSortKey(task)) ?? pending.length + 1, blocked_reason: blocked };
  });
}

export async function listTasks(
  userId: string,
  query: { status?: TaskStatus; limit: number; cursor?: string },
): Promise<{ views: TaskView[]; nextCursor: string | null }> {
  const page = await listUserTasks(userId, query);
  return { views: await viewTasks(userId, page.tasks), nextCursor: page.nextCursor };
}

export interface QueueStatus {
  running: number;
  pending: number;
  max_concurrent: number;
  can_start_more: boolean;
  monthly_hours_used: number;
  monthly_hours_limit: number | null;
  blocked_reason: string | null;
}

export async function queueStatus(userId: string, now = new Date()): Promise<QueueStatus> {
  const user = rollHoursWindow(await getUser(userId, now), now);
  const limits = limitsOf(user, getConfig().maxPendingPerUser);
  const state = schedulingState({ ...user, pending_count: Math.max(1, user.pending_count) }, limits, now);
  return {
    running: user.running_count,
    pending: user.pending_count,
    max_concurrent: limits.max_concurrent_agents,
    can_start_more: user.running_count < limits.max_concurrent_agents && remainingSeconds(user, limits) >= 60,
    monthly_hours_used: hours(user.hours_used_seconds),
    monthly_hours_limit: limits.monthly_agent_hours,
    blocked_reason: state.kind === 'deferred' ? state.reason : null,
  };
}
