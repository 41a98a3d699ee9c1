import { getConfig } from '../platform/config.js';
import { type Task, type TaskStatus } from './task.js';
import { limitsOf, remainingSeconds, rollHoursWindow, schedulingState, type UserAccount } from '../accounts/account.js';
import { TaskNotFoundError } from '../platform/errors.js';
import { getTask, listPendingTasks, listUserTasks } from './task-store.js';
import { activeTasksOf, recentAverageMinutes, remainingMinutes } from './queue-forecast.js';
import { WAITING_FOR, whyWaiting, type Waiting, type WaitingContext, type WaitingFor } from './waiting.js';
import { estimateStartTimes } from '../batches/eta.js';
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
  /** Pending tasks: why it waits, in a word and a sentence, and when it is expected to start. */
  waiting_for?: WaitingFor | null;
  waiting_message?: string | null;
  expected_start_at?: string | null;
}

/** What the user's queue looks like now: the context for whyWaiting and the start-time simulation. */
interface QueueSnapshot {
  pending: Task[];
  context: Omit<WaitingContext, 'queuePosition'>;
  /** Why the user's whole queue is deferred (monthly hours), or null. */
  deferredReason: string | null;
  slots: number;
  runningRemainingMinutes: number[];
  fallbackMinutes: number;
  maxTaskMinutes: number;
}

async function queueSnapshot(userId: string, now: Date): Promise<QueueSnapshot> {
  const [pending, stored, active, average] = await Promise.all([listPendingTasks(userId), getUser(userId, now), activeTasksOf(userId), recentAverageMinutes(userId)]);
  const user = rollHoursWindow(stored, now);
  const limits = limitsOf(user, getConfig().maxPendingPerUser);
  const state = schedulingState({ ...user, pending_count: Math.max(1, user.pending_count) }, limits, now);
  const hoursResetAt = state.kind === 'deferred' && state.reason ? new Date(state.until) : null;
  const fallbackMinutes = average ?? limits.max_task_duration_minutes;
  return {
    pending,
    deferredReason: hoursResetAt && state.kind === 'deferred' ? state.reason : null,
    context: { now, plan: user.plan, running: user.running_count, maxConcurrent: limits.max_concurrent_agents, hoursResetAt, monthlyHours: limits.monthly_agent_hours },
    slots: Math.max(1, limits.max_concurrent_agents),
    runningRemainingMinutes: active.map((task) => remainingMinutes(task, fallbackMinutes, now)),
    fallbackMinutes,
    maxTaskMinutes: limits.max_task_duration_minutes,
  };
}

/** Each pending task's wait, and its expected start from the batch ETA's list simulation (estimateStartTimes). */
function pendingViews(snapshot: QueueSnapshot): Map<string, TaskView> {
  const waits = snapshot.pending.map((task, index) => whyWaiting(task, { ...snapshot.context, queuePosition: index + 1 }));
  const estimable = snapshot.pending.flatMap((task, index) => (waits[index]?.estimable ? [{ task, wait: waits[index] }] : []));
  const starts = estimateStartTimes({
    now: snapshot.context.now,
    slots: snapshot.slots,
    runningRemainingMinutes: snapshot.runningRemainingMinutes,
    queued: estimable.map(({ task, wait }) => ({ minutes: task.estimated_minutes, earliestAt: laterOf(wait.earliestAt, snapshot.context.hoursResetAt) })),
    fallbackMinutes: snapshot.fallbackMinutes,
    maxTaskMinutes: snapshot.maxTaskMinutes,
  });
  const startOf = new Map(estimable.map(({ task }, index) => [task.id, starts[index]?.toISOString() ?? null]));
  return new Map(
    snapshot.pending.map((task, index) => {
      const wait = waits[index] as Waiting;
      return [
        task.id,
        { task, queue_position: index + 1, blocked_reason: task.blocked_reason, waiting_for: wait.waiting_for, waiting_message: wait.waiting_message, expected_start_at: startOf.get(task.id) ?? null },
      ];
    }),
  );
}

const laterOf = (a: Date | null, b: Date | null): Date | null => (a === null ? b : b === null ? a : a > b ? a : b);

const settled = (task: Task): TaskView => ({ task, queue_position: null, blocked_reason: task.blocked_reason, waiting_for: null, waiting_message: null, expected_start_at: null });

/** Adds what depends on the user's queue: position among pending tasks, why a task waits and when it should start. */
export async function viewTasks(userId: string, tasks: Task[], now = new Date()): Promise<TaskView[]> {
  if (!tasks.some((task) => task.status === 'pending')) return tasks.map(settled);
  const snapshot = await queueSnapshot(userId, now);
  const views = pendingViews(snapshot);
  return tasks.map((task) => {
    if (task.status !== 'pending') return settled(task);
    const known = views.get(task.id);
    const blocked = snapshot.deferredReason ?? task.blocked_reason;
    if (known) return { ...known, task, blocked_reason: blocked };
    // Not on the orchestrator's index (routed to a device), or written a moment ago.
    const wait = whyWaiting(task, { ...snapshot.context, queuePosition: snapshot.pending.length + 1 });
    return { task, queue_position: snapshot.pending.length + 1, blocked_reason: blocked, waiting_for: wait.waiting_for, waiting_message: wait.waiting_message, expected_start_at: null };
  });
}

/**
 * The view of a task just queued, from the account its queueing transaction read. With nothing of
 * the orchestrator's ahead of it, a free slot and hours left, it starts now (or at its not_before)
 * and the answer needs no read; otherwise the queue snapshot answers, as for any listing.
 */
export async function viewQueuedTask(userId: string, task: Task, accountBefore: UserAccount, now = new Date()): Promise<TaskView> {
  const user = rollHoursWindow(accountBefore, now);
  const limits = limitsOf(user, getConfig().maxPendingPerUser);
  const ahead = user.pending_count - (user.device_pending_count ?? 0);
  const state = schedulingState({ ...user, pending_count: 1 }, limits, now);
  const hoursUsedUp = state.kind === 'deferred' && Boolean(state.reason);
  if (task.status !== 'pending' || ahead > 0 || user.running_count >= limits.max_concurrent_agents || hoursUsedUp) {
    return (await viewTasks(userId, [task], now))[0] as TaskView;
  }
  const context = { now, plan: user.plan, running: user.running_count, maxConcurrent: limits.max_concurrent_agents, hoursResetAt: null, monthlyHours: limits.monthly_agent_hours };
  const wait = whyWaiting(task, { ...context, queuePosition: 1 });
  const expected = wait.estimable ? (laterOf(wait.earliestAt, now) ?? now).toISOString() : null;
  return { task, queue_position: 1, blocked_reason: task.blocked_reason, waiting_for: wait.waiting_for, waiting_message: wait.waiting_message, expected_start_at: expected };
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
  /** Why the next task in the queue waits, and when it is expected to start. */
  waiting_for: WaitingFor | null;
  waiting_message: string | null;
  next_expected_start_at: string | null;
  /** Pending tasks by what they wait for. */
  waiting_counts: Record<WaitingFor, number>;
}

export async function queueStatus(userId: string, now = new Date()): Promise<QueueStatus> {
  const snapshot = await queueSnapshot(userId, now);
  const user = rollHoursWindow(await getUser(userId, now), now);
  const limits = limitsOf(user, getConfig().maxPendingPerUser);
  const views = [...pendingViews(snapshot).values()];
  const counts = Object.fromEntries(WAITING_FOR.map((reason) => [reason, 0])) as Record<WaitingFor, number>;
  for (const view of views) if (view.waiting_for) counts[view.waiting_for] += 1;
  counts.device += user.device_pending_count ?? 0;
  const next = views.filter((view) => view.expected_start_at !== null).sort((a, b) => (a.expected_start_at ?? '').localeCompare(b.expected_start_at ?? ''))[0] ?? views[0] ?? null;
  return {
    running: user.running_count,
    pending: user.pending_count,
    max_concurrent: limits.max_concurrent_agents,
    can_start_more: user.running_count < limits.max_concurrent_agents && remainingSeconds(user, limits) >= 60,
    monthly_hours_used: hours(user.hours_used_seconds),
    monthly_hours_limit: limits.monthly_agent_hours,
    blocked_reason: snapshot.deferredReason,
    waiting_for: next?.waiting_for ?? null,
    waiting_message: next?.waiting_message ?? null,
    next_expected_start_at: next?.expected_start_at ?? null,
    waiting_counts: counts,
  };
}
