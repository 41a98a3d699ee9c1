/**
 * Device executors: a user's devices register and heartbeat, and lease the tasks the router sent
 * to them. A lease is the device's claim: task `pending -> running`, the user's slot, the device's
 * slot and the credit charge move in one transaction, and a fresh callback token is handed over
 * for the usual completion endpoint.
 */
import { randomBytes } from 'node:crypto';
import { getConfig } from '../platform/config.js';
import type { Task } from '../tasks/task.js';
import { accountForTransition, limitsOf } from '../accounts/account.js';
import { DomainError } from '../platform/errors.js';
import { logger } from '../platform/logger.js';
import { isExecutorOnline } from '../routing/router.js';
import type { ExecutorRegistration } from './schemas.js';
import {
  listExecutors,
  listQueuedForExecutor,
  takeExecutorSlotItem,
  touchExecutor,
  upsertExecutor,
  type Executor,
} from './executor-store.js';
import { getTask, putTaskItem } from '../tasks/task-store.js';
import { transact, TransactionConflictError, type TransactItem } from '../platform/dynamodb/transact.js';
import { getUser, putUserItem } from '../accounts/user-store.js';
import { creditChargeItems, CreditLimitReachedError } from '../credits/charges.js';
import { hashToken } from '../tasks/callback-token.js';

/** How long a lease waits for work at most (the API's Lambda runs 30 s). */
export const MAX_LEASE_WAIT_MS = 20_000;
/** How often a waiting lease looks for work. */
export const LEASE_POLL_MS = 250;

/** Another user's device, or none: the same answer. */
export class ExecutorNotFoundError extends DomainError {
  constructor(executorId: string) {
    super('NOT_FOUND', `Executor ${executorId} was not found; register it with POST /api/v1/executors`);
    this.name = 'ExecutorNotFoundError';
  }
}

export interface ExecutorView {
  executor_id: string;
  capabilities: string[];
  models: string[];
  max_concurrent: number;
  active_count: number;
  /** A heartbeat (registration or lease) within the last 60 s. */
  online: boolean;
  last_heartbeat_at: string;
  registered_at: string;
}

const executorView = (executor: Executor, now: Date): ExecutorView => ({
  executor_id: executor.executor_id,
  capabilities: executor.capabilities,
  models: executor.models,
  max_concurrent: executor.max_concurrent,
  active_count: executor.active_count,
  online: isExecutorOnline(executor, now),
  last_heartbeat_at: executor.last_heartbeat_at,
  registered_at: executor.registered_at,
});

/** POST /executors: registers the device or heartbeats it (same call; capabilities and slots are replaced). */
export async function registerExecutor(userId: string, registration: ExecutorRegistration, now = new Date()): Promise<ExecutorView> {
  const executor = await upsertExecutor(userId, { ...registration, capabilities: [...new Set(registration.capabilities)] }, now);
  return executorView(executor, now);
}

/** GET /executors: the caller's devices with online/offline. */
export async function listExecutorViews(userId: string, now = new Date()): Promise<ExecutorView[]> {
  const executors = await listExecutors(userId);
  return executors.map((executor) => executorView(executor, now)).sort((a, b) => a.executor_id.localeCompare(b.executor_id));
}

export interface Lease {
  task: Task;
  /** The task's callback token for POST /api/v1/tasks/{id}/complete (shown once). */
  callback_token: string;
  callback_url: string | null;
}

type LeaseAttempt = { kind: 'leased'; lease: Lease } | { kind: 'busy' } | { kind: 'next' };

const callbackUrl = (taskId: string): string | null => {
  const base = getConfig().callbackBaseUrl;
  return base ? `${base.replace(/\/$/, '')}/api/v1/tasks/${encodeURIComponent(taskId)}/complete` : null;
};

/** Tries to lease one queued task to the device; `busy` means no slot (device or user) is free now. */
async function leaseOne(userId: string, executorId: string, queued: Task, now: Date): Promise<LeaseAttempt> {
  const task = await getTask(queued.id);
  if (!task || task.status !== 'pending' || task.execution_location !== 'local' || task.executor_id !== executorId) return { kind: 'next' };
  const user = await getUser(userId, now);
  const limits = limitsOf(user, getConfig().maxPendingPerUser);
  // Device work holds one of the user's slots like a sandbox does, so the plan's limit covers all running work.
  if (user.running_count >= limits.max_concurrent_agents) return { kind: 'busy' };
  const token = randomBytes(32).toString('base64url');
  const running: Task = {
    ...task,
    status: 'running',
    claimed_at: now.toISOString(),
    started_at: now.toISOString(),
    timeout_at: new Date(now.getTime() + limits.max_task_duration_minutes * 60_000).toISOString(),
    attempts: task.attempts + 1,
    // Device time is not cloud agent time: nothing is reserved from the monthly hours.
    reserved_seconds: null,
    hours_window: null,
    callback_token_hash: hashToken(token),
    blocked_reason: null,
  };
  let charge: TransactItem[];
  try {
    charge = await creditChargeItems(running, now);
  } catch (error) {
    if (error instanceof CreditLimitReachedError) return { kind: 'next' };
    throw error;
  }
  try {
    await transact([
      putTaskItem(running, { status: 'pending', attempts: task.attempts }),
      putUserItem(accountForTransition(user, task, running, now), now),
      takeExecutorSlotItem(userId, executorId),
      ...charge,
    ]);
  } catch (error) {
    if (!(error instanceof TransactionConflictError)) throw error;
    // Item 2 is the device's slot: full means wait; anything else lost a race, so look again.
    return error.failedIndexes.includes(2) ? { kind: 'busy' } : { kind: 'next' };
  }
  logger.info('task leased', { task_id: task.id, user_id: userId, executor_id: executorId, attempt: running.attempts });
  return { kind: 'leased', lease: { task: running, callback_token: token, callback_url: callbackUrl(task.id) } };
}

/**
 * POST /executors/{id}/lease: the next task routed to this device, moved to `running` with a fresh
 * callback token, or null (HTTP 204) when none comes within `waitMs` (long poll, at most 20 s,
 * looking every 250 ms). A lease is also a heartbeat. Another user's device is a 404.
 */
export async function leaseTask(
  userId: string,
  executorId: string,
  options: { waitMs?: number; pollMs?: number; clock?: () => Date } = {},
): Promise<Lease | null> {
  const clock = options.clock ?? (() => new Date());
  const waitMs = Math.min(Math.max(0, options.waitMs ?? MAX_LEASE_WAIT_MS), MAX_LEASE_WAIT_MS);
  const pollMs = options.pollMs ?? LEASE_POLL_MS;
  if (!(await touchExecutor(userId, executorId, clock()))) throw new ExecutorNotFoundError(executorId);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const now = clock();
    const iso = now.toISOString();
    const queued = (await listQueuedForExecutor(userId, executorId, 25)).filter((task) => !task.not_before || task.not_before <= iso);
    for (const task of queued) {
      const attempt = await leaseOne(userId, executorId, task, now);
      if (attempt.kind === 'leased') return attempt.lease;
      if (attempt.kind === 'busy') break;
    }
    if (Date.now() + pollMs > deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
