import { getConfig } from '../platform/config.js';
import type { Task } from '../tasks/task.js';
import { logger } from '../platform/logger.js';
import type { SpawnMessage } from '../platform/queue/messages.js';
import { currentSandboxProvider } from '../sandbox/current.js';
import { getTask, putTaskItem } from '../tasks/task-store.js';
import { transact, TransactionConflictError } from '../platform/dynamodb/transact.js';
import { failActiveTask } from '../tasks/finish-task.js';
import { sandboxTaskOf } from '../tasks/sandbox-task.js';

export type SpawnOutcome = 'started' | 'already-running' | 'stale-message' | 'cancelled-meanwhile' | 'unsupported';

const callbackUrl = (taskId: string): string =>
  `${getConfig().callbackBaseUrl.replace(/\/$/, '')}/api/v1/tasks/${encodeURIComponent(taskId)}/complete`;

/**
 * Starts the sandbox of one claimed task attempt and marks it running. Safe to repeat: the
 * provider is idempotent per task attempt and the running write is conditional, so a redelivered
 * message never starts a second sandbox; a task cancelled meanwhile gets its sandbox terminated.
 * Provider errors are thrown so SQS retries with backoff.
 */
export async function spawnClaimedTask(message: SpawnMessage, now: () => Date = () => new Date()): Promise<SpawnOutcome> {
  const task = await getTask(message.task_id);
  if (!task || task.attempts !== message.attempt) return 'stale-message';
  if (task.status === 'running') return 'already-running';
  if (task.status !== 'claimed') return 'stale-message';
  const provider = currentSandboxProvider();
  const sandboxTask = sandboxTaskOf(task);
  if (sandboxTask.repository && !provider.supportsRepositories) {
    await failActiveTask(task.id, `The ${provider.name} sandbox provider cannot check out repositories yet; run repository tasks with SANDBOX_PROVIDER=process`, now(), { status: 'claimed', attempt: task.attempts });
    return 'unsupported';
  }
  const sandbox = await provider.spawn({
    task: sandboxTask,
    timeoutSeconds: task.reserved_seconds ?? 60,
    callbackUrl: callbackUrl(task.id),
    callbackToken: message.callback_token,
    sandboxToken: message.sandbox_token,
  });
  const started = now();
  const running: Task = {
    ...task,
    status: 'running',
    sandbox_id: sandbox.id,
    started_at: started.toISOString(),
    timeout_at: new Date(started.getTime() + (task.reserved_seconds ?? 60) * 1000).toISOString(),
  };
  try {
    await transact([putTaskItem(running, { status: 'claimed', attempts: task.attempts })]);
  } catch (error) {
    if (!(error instanceof TransactionConflictError)) throw error;
    const current = await getTask(task.id);
    if (current?.status === 'running' && current.sandbox_id === sandbox.id) return 'already-running';
    if (current?.status === 'claimed' && current.attempts === task.attempts) throw error;
    // This attempt is over while its sandbox started (cancelled, failed, finished, or requeued by
    // the sweeper and perhaps claimed again): the sandbox must not live on beside a newer attempt.
    await provider.terminate(sandbox.id);
    logger.info('task changed while its sandbox started', { task_id: task.id, user_id: task.user_id, status: current?.status, attempt: current?.attempts });
    return 'cancelled-meanwhile';
  }
  logger.info('task running', { task_id: task.id, user_id: task.user_id, sandbox_id: sandbox.id, timeout_at: running.timeout_at });
  return 'started';
}

/** A spawn message that exhausted its receives: the task fails with a reason instead of waiting forever. */
export async function failUnspawnableTask(message: SpawnMessage, now = new Date()): Promise<boolean> {
  return failActiveTask(
    message.task_id,
    'Sandbox could not be started after several attempts (provider error); see the spawner logs',
    now,
    { status: 'claimed', attempt: message.attempt },
  );
}
