import { randomUUID } from 'node:crypto';
import { queueRefusal } from '../accounts/admission.js';
import { getConfig } from '../platform/config.js';
import { wakeForQueuedTasks } from '../scheduling/wake.js';
import { type Task } from './task.js';
import { limitsOf, reserveQueuedTasks, type UserAccount } from '../accounts/account.js';
import { DomainError } from '../platform/errors.js';
import { logger } from '../platform/logger.js';
import { count } from '../platform/metrics.js';
import type { TaskCreate } from './schemas.js';
import { putTaskItem } from './task-store.js';
import { getUser, putUserItem } from '../accounts/user-store.js';
import { transact, withOptimisticRetry, type TransactItem } from '../platform/dynamodb/transact.js';
import { assertQueueable, placeTask, placementFields } from './placement.js';
import { taskBranch } from '../projects/project.js';

/** Builds the stored task for a create request (routing decisions filled in by the caller). */
export function newTask(userId: string, input: TaskCreate, now: Date, extra: Partial<Task> = {}): Task {
  const task: Task = {
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
    base_ref: input.base_ref ?? null,
    repository: null,
    branch: null,
    base_commit: null,
    head_commit: null,
    diff_stat: null,
    pull_request_url: null,
    push_error: null,
    agent_report: null,
    max_attempts: input.max_attempts,
    retry_backoff_seconds: input.retry_backoff_seconds,
    attempt_history: [],
    rerun_of: null,
    ...extra,
  };
  if (task.repository) task.branch = taskBranch(task.id);
  return task;
}

function assertCanQueue(user: UserAccount, count: number, now: Date): void {
  const refusal = queueRefusal(user, limitsOf(user, getConfig().maxPendingPerUser), count, now);
  if (refusal?.code === 'TOO_MANY_PENDING') {
    throw new DomainError('TOO_MANY_PENDING', `You have ${refusal.pending} pending tasks; the limit is ${refusal.limit}`);
  }
  if (refusal?.code === 'MONTHLY_LIMIT_REACHED') {
    throw new DomainError('MONTHLY_LIMIT_REACHED', `All ${refusal.hours} agent-hours of this billing cycle are used; they reset at ${refusal.resetsAt}`);
  }
}

/** What a commit of queued tasks found: the account as the transaction read it, before the reservation. */
export interface Enqueued {
  tasks: Task[];
  accountBefore: UserAccount;
}

/**
 * Queues tasks for one user, all or nothing: the tasks and the user's pending counter are one
 * transaction, so TOO_MANY_PENDING holds exactly under concurrent creates. `firstRead` is an
 * account read the caller already made (consistent, like getUser); a lost race reads again.
 */
async function enqueue(userId: string, tasks: Task[], now: Date, extraItems: TransactItem[], firstRead?: Promise<UserAccount>): Promise<Enqueued> {
  let pendingRead = firstRead;
  let accountBefore: UserAccount | undefined;
  let accountAfter: UserAccount | undefined;
  await withOptimisticRetry(async () => {
    const user = pendingRead ? await pendingRead : await getUser(userId, now);
    pendingRead = undefined;
    assertCanQueue(user, tasks.length, now);
    const after = reserveQueuedTasks(user, tasks, now);
    await transact([...tasks.map((task) => putTaskItem(task)), putUserItem(after, now), ...extraItems]);
    accountBefore = user;
    accountAfter = after;
  });
  // Only when the account as written may start work now: a user whose slots are all taken is woken by the next freed one.
  await wakeForQueuedTasks(tasks, 'task-created', accountAfter);
  return { tasks, accountBefore: accountBefore as UserAccount };
}

export async function enqueueTasks(userId: string, tasks: Task[], now: Date, extraItems: TransactItem[] = []): Promise<Task[]> {
  return (await enqueue(userId, tasks, now, extraItems)).tasks;
}

/**
 * Creates a task with its routing decision (location, device, estimated credits, model). The space
 * must be one the user belongs to (404 otherwise); `local` with no capable device is a 409; remote
 * work whose estimate exceeds the space's whole monthly limit is a 403. Remote work over what is
 * left of its space's monthly limit is still queued, badged "Blocked (over quota)", and starts by
 * itself after the reset or an override. The caller's account is read once: routing (its billing
 * day) and the queueing transaction share the read.
 */
export async function createTaskQueued(userId: string, input: TaskCreate, now = new Date(), extra: Partial<Task> = {}): Promise<{ task: Task; accountBefore: UserAccount }> {
  const account = getUser(userId, now);
  account.catch(() => undefined); // placement may refuse first; the read's own error surfaces where it is awaited
  const readAccount = (id: string) => (id === userId ? account : getUser(id, now));
  const placement = assertQueueable(await placeTask(userId, input, now, readAccount));
  const { tasks, accountBefore } = await enqueue(userId, [newTask(userId, input, now, { ...placementFields(placement), ...extra })], now, [], account);
  const task = tasks[0] as Task;
  count('TasksCreated');
  logger.info('task created', { task_id: task.id, user_id: userId });
  return { task, accountBefore };
}

export async function createTask(userId: string, input: TaskCreate, now = new Date(), extra: Partial<Task> = {}): Promise<Task> {
  return (await createTaskQueued(userId, input, now, extra)).task;
}
