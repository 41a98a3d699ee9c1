import { createHash, randomUUID } from 'node:crypto';
import { getConfig } from '../platform/config.js';
import { billingWindow } from '../accounts/billing-window.js';
import { TERMINAL_STATUSES, type Task, type TaskStatus } from './task.js';
import { accountForTransition, limitsOf, remainingSeconds, rollHoursWindow, schedulingState, type UserAccount } from '../accounts/account.js';
import { DomainError, TaskNotFoundError } from '../platform/errors.js';
import { logger } from '../platform/logger.js';
import { count } from '../platform/metrics.js';
import { wakeOrchestrator } from '../platform/queue/messages.js';
import { currentSandboxProvider } from '../sandbox/current.js';
import type { TaskCreate, TaskResult } from './schemas.js';
import { getTask, listPendingTasks, listUserTasks, pendingSortKey, putTaskItem } from './task-store.js';
import { getUser, putUserItem, type StoredUser } from '../accounts/user-store.js';
import { transact, withOptimisticRetry, type TransactItem } from '../platform/dynamodb/transact.js';
import { settledCredits, settlementItems, withTaskCharge } from '../credits/charges.js';
import { placeTask, placementFields } from './placement.js';
import { transitionTask } from './transition.js';

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** Builds the stored task for a create request (routing decisions filled in by the caller). */
export function newTask(userId: string, input: TaskCreate, now: Date, extra: Partial<Task> = {}): Task {
  return {
    id: randomUUID(),
    user_id: userId,
    title: input.title,
    description: input.description,
    project_id: input.project_id ?? null,
    space_id: input.space_id ?? `personal:${userId}`,
    group_id: input.group_id ?? null,
    batch_id: null,
    type: input.type,
    integration: input.integration ?? null,
    action: input.action ?? null,
    input: input.input ?? null,
    priority: input.priority,
    status: 'pending',
    execution_preference: input.execution_preference,
    execution_location: 'remote',
    executor_id: null,
    model: input.model ?? null,
    model_params: null,
    estimated_tokens: input.estimated_tokens ?? null,
    estimated_minutes: input.estimated_minutes ?? null,
    estimated_credits: 0,
    actual_credits: null,
    not_before: input.not_before ? new Date(input.not_before).toISOString() : null,
    created_at: now.toISOString(),
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
    ...extra,
  };
}

function assertCanQueue(user: UserAccount, count: number, now: Date): void {
  const limits = limitsOf(user, getConfig().maxPendingPerUser);
  if (user.pending_count + count > limits.max_pending_tasks) {
    throw new DomainError(
      'TOO_MANY_PENDING',
      `You have ${user.pending_count} pending tasks; the limit is ${limits.max_pending_tasks}`,
    );
  }
  const rolled = rollHoursWindow(user, now);
  if (limits.monthly_agent_hours !== null && rolled.hours_used_seconds >= limits.monthly_agent_hours * 3600) {
    throw new DomainError(
      'MONTHLY_LIMIT_REACHED',
      `All ${limits.monthly_agent_hours} agent-hours of this billing cycle are used; they reset at ${billingWindow(now, user.billing_day).end.toISOString()}`,
    );
  }
}

/**
 * Queues tasks for one user, all or nothing: the tasks and the user's pending counter are one
 * transaction, so TOO_MANY_PENDING holds exactly under concurrent creates.
 */
export async function enqueueTasks(
  userId: string,
  tasks: Task[],
  now: Date,
  extraItems: TransactItem[] = [],
): Promise<Task[]> {
  await withOptimisticRetry(async () => {
    let user: UserAccount = await getUser(userId, now);
    assertCanQueue(user, tasks.length, now);
    for (const task of tasks) {
      const next = accountForTransition(user, null, task, now);
      user = { ...next, version: user.version };
    }
    user = { ...user, version: user.version + 1 };
    await transact([...tasks.map((task) => putTaskItem(task)), putUserItem(user, now), ...extraItems]);
  });
  const later = tasks
    .map((task) => task.not_before)
    .filter((time): time is string => time !== null && time > now.toISOString())
    .sort();
  if (later.length < tasks.length) await wakeOrchestrator('task-created');
  // The delay is counted from when the message is sent, not from the request's `now`.
  for (const time of new Set(later)) await wakeOrchestrator('not-before', new Date(time));
  return tasks;
}

/**
 * Creates a task with its routing decision (location, device, estimated credits, model). The space
 * must be one the user belongs to (404 otherwise); `local` with no capable device is a 409. Remote
 * work over its space's monthly limit is still queued, badged "Blocked (over quota)", and starts by
 * itself after the reset or an override.
 */
export async function createTask(userId: string, input: TaskCreate, now = new Date()): Promise<Task> {
  const placement = await placeTask(userId, input, now);
  const [task] = await enqueueTasks(userId, [newTask(userId, input, now, placementFields(placement))], now);
  count('TasksCreated');
  logger.info('task created', { task_id: task?.id, user_id: userId });
  return task as Task;
}

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

/** Agent time a task used: from its start (or claim, for a sandbox that reported before its start was recorded). */
const elapsedSeconds = (task: Task, now: Date, from: string | null = task.started_at): number => {
  if (!from) return 0;
  return Math.min(task.reserved_seconds ?? 0, Math.max(0, Math.round((now.getTime() - Date.parse(from)) / 1000)));
};

/** Ends an active or pending task; the slot and the unused reserved hours are freed. */
export function finishedTask(task: Task, now: Date, outcome: Pick<Task, 'status'> & Partial<Task>): Task {
  return {
    ...task,
    completed_at: now.toISOString(),
    used_seconds: task.status === 'pending' ? 0 : elapsedSeconds(task, now),
    callback_token_hash: task.callback_token_hash,
    ...outcome,
  };
}

/**
 * Stops the sandbox of the task as it was before it ended. A claimed task has no recorded
 * sandbox, but its spawner may have started one and crashed before writing `running`: that
 * attempt's sandbox is looked up by task and attempt, so no agent is left running unseen.
 */
export async function terminateSandbox(task: Task): Promise<void> {
  const provider = currentSandboxProvider();
  try {
    if (task.sandbox_id) await provider.terminate(task.sandbox_id);
    else if (task.status === 'claimed') await provider.terminateAttempt({ id: task.id, attempt: task.attempts });
  } catch (error) {
    logger.error('could not terminate sandbox', { task_id: task.id, user_id: task.user_id, sandbox_id: task.sandbox_id, error });
  }
}

export async function cancelTask(userId: string, taskId: string, now = new Date()): Promise<void> {
  await getOwnTask(userId, taskId);
  const transition = await withTaskCharge(taskId, (charge) =>
    transitionTask(
      taskId,
      now,
      (task) => {
        if (TERMINAL_STATUSES.has(task.status)) {
          throw new DomainError('TASK_ALREADY_COMPLETED', `Task ${taskId} is already ${task.status}`);
        }
        return finishedTask(task, now, {
          status: 'cancelled',
          failure_reason: 'Cancelled by user',
          actual_credits: settledCredits(task, charge, now),
        });
      },
      (before, after) => settlementItems(before, after, charge, now),
    ),
  );
  if (!transition) throw new TaskNotFoundError(taskId);
  logger.info('task cancelled', { task_id: taskId, user_id: userId, was: transition.before.status });
  await terminateSandbox(transition.before);
  if (transition.before.status !== 'pending') await wakeOrchestrator('slot-freed');
}

/**
 * A sandbox's or device's report. Idempotent: a report for a finished task changes nothing and
 * still answers ok. The token must be the one minted for this task's current attempt.
 */
export async function completeTask(taskId: string, token: string, result: TaskResult, now = new Date()): Promise<void> {
  const task = await getTask(taskId);
  if (!task) throw new TaskNotFoundError(taskId);
  if (!task.callback_token_hash || task.callback_token_hash !== hashToken(token)) {
    throw new DomainError('UNAUTHORIZED', 'The callback token is not valid for this task');
  }
  const transition = await withTaskCharge(taskId, (charge) =>
    transitionTask(
      taskId,
      now,
      (current) => {
        if (current.status !== 'claimed' && current.status !== 'running') return null;
        if (current.callback_token_hash !== task.callback_token_hash) return null;
        return finishedTask(current, now, {
          status: result.status,
          used_seconds: elapsedSeconds(current, now, current.started_at ?? current.claimed_at),
          result_summary: result.summary ?? null,
          files_changed: result.files_changed ?? null,
          failure_reason: result.status === 'failed' ? (result.error ?? 'Failed without a reason') : null,
          actual_credits: settledCredits(current, charge, now, { tokensUsed: result.tokens_used }),
        });
      },
      // The unused part of the up-front charge is refunded from the reported usage.
      (before, after) => settlementItems(before, after, charge, now),
    ),
  );
  if (transition) {
    logger.info('task finished', { task_id: taskId, user_id: task.user_id, status: result.status });
    count(result.status === 'completed' ? 'TasksCompleted' : 'TasksFailed');
    await wakeOrchestrator('slot-freed');
  }
}

/** Fails an active task from a system job (timeout, spawn gave up); no-op if it already moved on. */
export async function failActiveTask(
  taskId: string,
  reason: string,
  now: Date,
  expected: { status?: Task['status']; attempt?: number } = {},
): Promise<boolean> {
  const transition = await withTaskCharge(taskId, (charge) =>
    transitionTask(
      taskId,
      now,
      (task) => {
        if (task.status !== 'claimed' && task.status !== 'running') return null;
        if (expected.status && task.status !== expected.status) return null;
        if (expected.attempt !== undefined && task.attempts !== expected.attempt) return null;
        return finishedTask(task, now, { status: 'failed', failure_reason: reason, actual_credits: settledCredits(task, charge, now) });
      },
      (before, after) => settlementItems(before, after, charge, now),
    ),
  );
  if (!transition) return false;
  logger.warn('task failed', { task_id: taskId, user_id: transition.before.user_id, reason });
  await terminateSandbox(transition.before);
  await wakeOrchestrator('slot-freed');
  return true;
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

const hours = (seconds: number): number => Math.round((seconds / 3600) * 1000) / 1000;

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

export interface UserLimits {
  user_id: string;
  plan: string;
  max_concurrent_agents: number;
  max_task_duration_minutes: number;
  max_pending_tasks: number;
  monthly_agent_hours_limit: number | null;
  monthly_agent_hours_used: number;
  monthly_agent_hours_reserved: number;
  billing_cycle_day: number;
  billing_cycle_resets_at: string;
  overrides: StoredUser['overrides'];
}

export function userLimitsView(user: UserAccount, now: Date): UserLimits {
  const rolled = rollHoursWindow(user, now);
  const limits = limitsOf(rolled, getConfig().maxPendingPerUser);
  return {
    user_id: rolled.user_id,
    plan: rolled.plan,
    max_concurrent_agents: limits.max_concurrent_agents,
    max_task_duration_minutes: limits.max_task_duration_minutes,
    max_pending_tasks: limits.max_pending_tasks,
    monthly_agent_hours_limit: limits.monthly_agent_hours,
    monthly_agent_hours_used: hours(rolled.hours_used_seconds),
    monthly_agent_hours_reserved: hours(rolled.hours_reserved_seconds),
    billing_cycle_day: rolled.billing_day,
    billing_cycle_resets_at: billingWindow(now, rolled.billing_day).end.toISOString(),
    overrides: rolled.overrides,
  };
}

export async function getUserLimits(userId: string, now = new Date()): Promise<UserLimits> {
  return userLimitsView(await getUser(userId, now), now);
}

/** Admin: change a user's plan, limit overrides or billing day; a raised limit unblocks at once. */
export async function updateUserAccount(
  userId: string,
  change: (user: UserAccount) => UserAccount,
  actor: string,
  now = new Date(),
): Promise<UserLimits> {
  const updated = await withOptimisticRetry(async () => {
    const user = await getUser(userId, now);
    const next = { ...change(rollHoursWindow(user, now)), version: user.version + 1 };
    await transact([putUserItem(next, now)]);
    return next;
  });
  logger.info('admin changed user limits', { admin_id: actor, user_id: userId, plan: updated.plan, overrides: updated.overrides });
  await wakeOrchestrator('limits-changed');
  return userLimitsView(updated, now);
}
