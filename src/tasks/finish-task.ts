import { TERMINAL_STATUSES, type Task } from './task.js';
import { DomainError, TaskNotFoundError } from '../platform/errors.js';
import { logger } from '../platform/logger.js';
import { count } from '../platform/metrics.js';
import { sendSpawnMessages, wakeOrchestrator } from '../platform/queue/messages.js';
import { currentSandboxProvider } from '../sandbox/current.js';
import type { TaskResult } from './schemas.js';
import { getTask } from './task-store.js';
import { settledCredits, settlementItems, withTaskCharge } from '../credits/charges.js';
import { transitionTask, type Transition } from './transition.js';
import { schedulingStateNow } from '../accounts/user-store.js';
import { tokenMatches } from './callback-token.js';
import { getOwnTask } from './task-views.js';
import { fitResultToItem } from './result-size.js';
import { sandboxTaskOf } from './sandbox-task.js';
import { addCredits, attemptRecord, DEFAULT_RETRY_BACKOFF_SECONDS, hasAttemptsLeft, priorUsage, retryDelaySeconds, runAttempt } from './retry-policy.js';
import { wakeForQueuedTasks } from '../scheduling/wake.js';
import { taskEnded } from './task-ended.js';
import { saveWorkBeforeDelete } from './save-work.js';

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

/** What the attempt that ends used, and whether its failure may be retried. */
export interface AttemptUsage {
  usedSeconds: number;
  credits: number | null;
  /** Agent failure, lost sandbox, timeout: yes. A cancel or a task that can never start: no. */
  retryable: boolean;
}

/**
 * Ends the attempt in progress (or a pending task): the attempt is recorded in `attempt_history`
 * and the task's hours and credits become the totals over its attempts. A retryable failure with
 * attempts left goes back to pending, not before backoff x 2^(attempt-1) (with jitter); its place
 * in the claim order (priority, created_at) is kept. Otherwise the task ends with `outcome`.
 */
export function endAttempt(task: Task, now: Date, outcome: Pick<Task, 'status'> & Partial<Task>, usage: AttemptUsage, random: () => number = Math.random): Task {
  const prior = priorUsage(task);
  const ran = task.status !== 'pending';
  const status = outcome.status === 'completed' || outcome.status === 'failed' ? outcome.status : 'cancelled';
  const history = ran
    ? [...(task.attempt_history ?? []), attemptRecord(task, now, status, outcome.failure_reason ?? null, usage.usedSeconds, usage.credits)]
    : (task.attempt_history ?? []);
  const totals = { used_seconds: prior.seconds + (ran ? usage.usedSeconds : 0), actual_credits: addCredits(prior.credits, usage.credits), attempt_history: history };
  if (status === 'failed' && ran && usage.retryable && hasAttemptsLeft(task)) {
    const delay = retryDelaySeconds(task.retry_backoff_seconds ?? DEFAULT_RETRY_BACKOFF_SECONDS, runAttempt(task), random());
    return {
      ...task,
      ...totals,
      status: 'pending',
      not_before: new Date(now.getTime() + Math.round(delay * 1000)).toISOString(),
      claimed_at: null,
      started_at: null,
      completed_at: null,
      timeout_at: null,
      reserved_seconds: null,
      hours_window: null,
      sandbox_id: null,
      // The hash stays: a late duplicate of the failed attempt's report is still answered ok (and changes nothing).
      failure_reason: null,
      blocked_reason: null,
      result_summary: null,
      files_changed: null,
      agent_report: null,
    };
  }
  return { ...finishedTask(task, now, outcome), ...totals };
}

/** After a transition: a retry is woken at its not_before; a final state goes to taskEnded once. */
/**
 * Wakes the orchestrator for a freed slot when its owner has work it may start now. Limits are
 * per user, so nobody else's claim waits for this slot: an owner with nothing more to start
 * (their last task ended, or the rest waits for a time or a device) wakes nobody, and their
 * later work wakes the orchestrator itself (a create, a timed wake, the due index).
 */
async function wakeForFreedSlot(transition: Transition, now: Date): Promise<void> {
  const { account } = transition;
  if (schedulingStateNow(account, now).kind === 'ready') await wakeOrchestrator('slot-freed', { userId: account.user_id });
}

async function afterAttempt(transition: { before: Task; after: Task }, now: Date): Promise<void> {
  if (transition.after.status === 'pending' && transition.before.status !== 'pending') {
    logger.warn('attempt failed; retrying later', { task_id: transition.after.id, user_id: transition.after.user_id, attempt: runAttempt(transition.before), not_before: transition.after.not_before });
    count('TaskRetries');
    await wakeForQueuedTasks([transition.after], 'task-retry');
  }
  if (TERMINAL_STATUSES.has(transition.after.status) && !TERMINAL_STATUSES.has(transition.before.status)) await taskEnded(transition.after, now);
}

/**
 * Stops the sandbox of the task as it was before it ended. A claimed task has no recorded
 * sandbox, but its spawner may have started one and crashed before writing `running`: that
 * attempt's sandbox is looked up by task and attempt, so no agent is left running unseen.
 */
export async function terminateSandbox(task: Task, now = new Date()): Promise<void> {
  if (!hadSandbox(task)) return;
  try {
    await stopAttemptSandbox(task, now);
  } catch (error) {
    logger.error('could not terminate sandbox', { task_id: task.id, user_id: task.user_id, sandbox_id: task.sandbox_id, error });
  }
}

/** A pending task has no sandbox: processes without a provider (the orchestrator) never need one. */
const hadSandbox = (task: Task): boolean => task.sandbox_id !== null || task.status === 'claimed';

/** Stops the sandbox of `task`'s attempt (its recorded one, or the one its spawner may have started); throws what the provider throws. */
async function stopAttemptSandbox(task: Task, now: Date): Promise<void> {
  const provider = currentSandboxProvider();
  // A sandbox that alone holds a repository task's checkout (Daytona) is saved from first.
  if (task.sandbox_id && (await saveWorkBeforeDelete(provider, task, now))) return;
  if (task.sandbox_id) await provider.terminate(task.sandbox_id);
  else await provider.terminateAttempt({ id: task.id, attempt: task.attempts });
}

/**
 * The spawner's side of a stop handed off by a cancel (`sandbox: 'hand-off'`): stops the sandbox
 * of the attempt that ended. Only an attempt that has ended is stopped (a message about an older
 * attempt, or a task that is not over, changes nothing). Provider errors are thrown, so SQS
 * retries the message; a stop that is repeated is harmless (terminating is idempotent).
 */
export async function stopEndedAttemptSandbox(taskId: string, attempt: number, now = new Date()): Promise<'stopped' | 'stale-message'> {
  const task = await getTask(taskId);
  if (!task || task.attempts !== attempt || !TERMINAL_STATUSES.has(task.status)) return 'stale-message';
  await stopAttemptSandbox(task, now);
  logger.info('sandbox of an ended attempt stopped', { task_id: task.id, user_id: task.user_id, attempt, sandbox_id: task.sandbox_id });
  return 'stopped';
}

/** Cancels the user's task; the sandbox of a claimed or running task is stopped before this returns. */
export async function cancelTask(userId: string, taskId: string, now = new Date()): Promise<void> {
  const transition = await cancelAttempt(userId, taskId, now);
  await terminateSandbox(transition.before, now);
}

/**
 * Cancels the user's task and hands the stop of its sandbox to the spawner (a stop message on the
 * spawn queue), so a function that cancels in bulk (a batch cancel) needs no sandbox providers:
 * it does not even bundle the code that stops one.
 */
export async function cancelTaskHandingOffSandbox(userId: string, taskId: string, now = new Date()): Promise<void> {
  const transition = await cancelAttempt(userId, taskId, now);
  if (hadSandbox(transition.before)) {
    await sendSpawnMessages([{ kind: 'stop-sandbox', task_id: taskId, attempt: transition.before.attempts }]);
  }
}

/** The cancel itself, up to the sandbox's stop: the transition, the settlement, the wake and the notifications. */
async function cancelAttempt(userId: string, taskId: string, now: Date): Promise<Transition> {
  const own = await getOwnTask(userId, taskId);
  const transition = await withTaskCharge(
    taskId,
    (charge, ref) =>
      transitionTask(
        ref,
        now,
        (task) => {
          if (TERMINAL_STATUSES.has(task.status)) {
            throw new DomainError('TASK_ALREADY_COMPLETED', `Task ${taskId} is already ${task.status}`);
          }
          return endAttempt(
            task,
            now,
            { status: 'cancelled', failure_reason: 'Cancelled by user' },
            { usedSeconds: task.status === 'pending' ? 0 : elapsedSeconds(task, now), credits: settledCredits(task, charge, now), retryable: false },
          );
        },
        (before, after) => settlementItems(before, after, charge, now),
      ),
    own,
    now,
  );
  if (!transition) throw new TaskNotFoundError(taskId);
  logger.info('task cancelled', { task_id: taskId, user_id: userId, was: transition.before.status });
  // The slot is free once the transition is written: the next task is claimed while this one's
  // notifications are queued and its sandbox is stopped.
  if (transition.before.status !== 'pending') await wakeForFreedSlot(transition, now);
  await afterAttempt(transition, now);
  return transition;
}

const NO_CHANGES = 'No changes: the agent left the repository as it found it.';

/**
 * How a report ends a task. On a repository task the agent's own report is only remembered:
 * the task ends with the sandbox wrapper's report, after Nightshift committed the agent's work,
 * and takes its outcome and summary from the agent's report (when there was one) and its
 * branch, commits, stat and files from git.
 */
function reportedOutcome(current: Task, result: TaskResult, fromSandbox: boolean): Partial<Task> & Pick<Task, 'status'> | 'remember' {
  if (!current.repository) {
    return {
      status: result.status,
      result_summary: result.summary ?? null,
      files_changed: result.files_changed ?? null,
      failure_reason: result.status === 'failed' ? (result.error ?? 'Failed without a reason') : null,
    };
  }
  if (!fromSandbox) return 'remember';
  const agent = current.agent_report ?? null;
  const status = agent?.status ?? result.status;
  const git = result.repository;
  const summary = agent ? agent.summary : (result.summary ?? null);
  const unchanged = git !== undefined && git.diff_stat.files === 0;
  return {
    status,
    result_summary: unchanged ? [summary, NO_CHANGES].filter(Boolean).join('\n\n') : summary,
    failure_reason: status === 'failed' ? (agent?.error ?? result.error ?? 'Failed without a reason') : null,
    files_changed: git ? git.files_changed.slice(0, 1000) : null,
    branch: git?.branch ?? current.branch ?? null,
    base_commit: git?.base_commit ?? null,
    head_commit: git?.head_commit ?? null,
    diff_stat: git?.diff_stat ?? null,
    push_error: git?.push_error ?? null,
    pull_request_url: git?.pull_request_url ?? null,
  };
}

/**
 * A sandbox's or device's report. Idempotent: a report for a finished task changes nothing and
 * still answers ok. The token must be one minted for this task's current attempt: the callback
 * token (the agent's or device's report) or the sandbox token (Nightshift's own wrapper, which
 * alone may end a repository task with git's result). Whatever an agent's body says of its
 * `source` or `repository`, a report made with the callback token is the agent's.
 */
export async function completeTask(taskId: string, token: string, result: TaskResult, now = new Date()): Promise<void> {
  const task = await getTask(taskId);
  if (!task) throw new TaskNotFoundError(taskId);
  const fromSandbox = tokenMatches(task.sandbox_token_hash, token);
  if (!fromSandbox && !tokenMatches(task.callback_token_hash, token)) {
    throw new DomainError('UNAUTHORIZED', 'The callback token is not valid for this task');
  }
  const report = fromSandbox ? await withPullRequest(task, result) : agentsOwn(result);
  const transition = await applyReport(task, report, fromSandbox, now);
  if (!transition || transition.after.status !== transition.before.status) return;
  if (transition.after.agent_report && !transition.before.agent_report) await collectThroughProvider(transition.after, now);
}

/**
 * A wrapper's report of a repository task from a sandbox that pushed for itself (ECS): the
 * provider opens the draft pull request from here, so the GitHub token never enters the sandbox.
 * A report for a task that already ended opens nothing.
 */
async function withPullRequest(task: Task, result: TaskResult): Promise<TaskResult> {
  if (!result.repository || !task.repository || (task.status !== 'claimed' && task.status !== 'running')) return result;
  const provider = currentSandboxProvider();
  if (!provider.finishReportedRepository) return result;
  try {
    const opened = await provider.finishReportedRepository({ task: sandboxTaskOf(task), repository: result.repository });
    return { ...result, repository: { ...result.repository, ...opened } };
  } catch (error) {
    logger.error('could not open the pull request', { task_id: task.id, user_id: task.user_id, error });
    return { ...result, repository: { ...result.repository, push_error: `Could not open the pull request: ${error instanceof Error ? error.message : String(error)}` } };
  }
}

/** An agent's report as the agent's: a claimed source or git result is dropped, never trusted. */
function agentsOwn(result: TaskResult): TaskResult {
  const { source: _source, repository: _repository, ...own } = result;
  return own;
}

/**
 * Providers whose sandbox cannot commit for itself (Daytona) commit the agent's work from here,
 * once the agent reported, and their answer ends the task as the sandbox's own report.
 */
async function collectThroughProvider(task: Task, now: Date): Promise<void> {
  const provider = currentSandboxProvider();
  const sandboxTask = sandboxTaskOf(task);
  if (!provider.collectRepository || !task.sandbox_id || !sandboxTask.repository) return;
  let report: TaskResult;
  try {
    report = await provider.collectRepository({ sandboxId: task.sandbox_id, task: sandboxTask });
  } catch (error) {
    logger.error('could not collect the agent\'s work', { task_id: task.id, user_id: task.user_id, sandbox_id: task.sandbox_id, error });
    report = { status: 'failed', error: `Could not commit the agent's work: ${error instanceof Error ? error.message : String(error)}` };
  }
  await applyReport(task, report, true, now);
}

async function applyReport(task: Task, result: TaskResult, fromSandbox: boolean, now: Date) {
  const transition = await withTaskCharge(
    task.id,
    (charge, ref) =>
      transitionTask(
        ref,
        now,
        (current) => {
          if (current.status !== 'claimed' && current.status !== 'running') return null;
          if (current.callback_token_hash !== task.callback_token_hash) return null;
          const outcome = reportedOutcome(current, result, fromSandbox);
          if (outcome === 'remember') {
            if (current.agent_report) return null; // the agent's first report counts, as on other tasks
            const agent_report = { status: result.status, summary: result.summary ?? null, error: result.error ?? null, tokens_used: result.tokens_used ?? null };
            return { ...current, agent_report };
          }
          // A report too large for the item is stored cut down (with a marker), never refused.
          const fitted = fitResultToItem(current, {
            result_summary: outcome.result_summary ?? null,
            files_changed: outcome.files_changed ?? null,
            failure_reason: outcome.failure_reason ?? null,
          });
          return endAttempt(current, now, { ...outcome, ...fitted }, {
            usedSeconds: elapsedSeconds(current, now, current.started_at ?? current.claimed_at),
            credits: settledCredits(current, charge, now, { tokensUsed: result.tokens_used ?? current.agent_report?.tokens_used ?? undefined }),
            retryable: true,
          });
        },
        // The unused part of the up-front charge is refunded from the reported usage.
        (before, after) => (after.status === before.status ? [] : settlementItems(before, after, charge, now)),
      ),
    task,
    now,
  );
  if (transition && transition.after.status === transition.before.status) {
    logger.info('agent reported; waiting for the sandbox to commit its work', { task_id: task.id, user_id: task.user_id, status: result.status });
  } else if (transition) {
    const status = transition.after.status;
    logger.info('task finished', { task_id: task.id, user_id: task.user_id, status });
    count(status === 'completed' ? 'TasksCompleted' : 'TasksFailed');
    await wakeForFreedSlot(transition, now);
    await afterAttempt(transition, now);
  }
  return transition;
}

/**
 * Fails an active task from a system job (timeout, spawn gave up, sandbox lost); no-op if it
 * already moved on. With `aliveUntil`, hours and credits are charged up to then, not to `now`.
 */
export async function failActiveTask(
  taskId: string,
  reason: string,
  now: Date,
  expected: { status?: Task['status']; attempt?: number; sandboxId?: string } = {},
  aliveUntil?: Date,
): Promise<boolean> {
  const transition = await withTaskCharge(taskId, (charge) =>
    transitionTask(
      taskId,
      now,
      (task) => {
        if (task.status !== 'claimed' && task.status !== 'running') return null;
        if (expected.status && task.status !== expected.status) return null;
        if (expected.attempt !== undefined && task.attempts !== expected.attempt) return null;
        if (expected.sandboxId !== undefined && task.sandbox_id !== expected.sandboxId) return null;
        const until = aliveUntil && aliveUntil < now ? aliveUntil : now;
        return endAttempt(
          task,
          now,
          { status: 'failed', failure_reason: reason },
          { usedSeconds: task.status === 'running' ? elapsedSeconds(task, until) : 0, credits: settledCredits(task, charge, until), retryable: true },
        );
      },
      (before, after) => settlementItems(before, after, charge, now),
    ),
  );
  if (!transition) return false;
  logger.warn('task failed', { task_id: taskId, user_id: transition.before.user_id, reason });
  await wakeForFreedSlot(transition, now);
  await terminateSandbox(transition.before, now);
  await afterAttempt(transition, now);
  return true;
}

/**
 * Fails a pending task that can never start (its estimate exceeds its space's whole credit limit);
 * no-op if it is no longer pending in the attempt seen. Nothing was charged, so nothing settles.
 */
export async function failPendingTask(taskId: string, reason: string, now: Date, attempt: number): Promise<boolean> {
  const transition = await transitionTask(taskId, now, (task) => {
    if (task.status !== 'pending' || task.attempts !== attempt) return null;
    return endAttempt(task, now, { status: 'failed', failure_reason: reason, blocked_reason: null }, { usedSeconds: 0, credits: 0, retryable: false });
  });
  if (!transition) return false;
  logger.warn('task failed', { task_id: taskId, user_id: transition.before.user_id, reason });
  count('TasksFailed');
  await afterAttempt(transition, now);
  return true;
}
