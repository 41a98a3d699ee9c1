import { logger } from '../platform/logger.js';
import type { SandboxProvider } from '../sandbox/provider.js';
import { sandboxTaskOf } from './sandbox-task.js';
import { TERMINAL_STATUSES, type Task } from './task.js';
import { transitionTask } from './transition.js';

/**
 * Before the sandbox of a repository task is deleted without its result (cancelled, timed out,
 * lost), in a provider whose sandbox alone holds the checkout (one with `collectRepository`:
 * Daytona): what the agent left is saved through the same path as a finished task's (committed,
 * the patch and the agent log kept, the branch pushed when the project pushes; no pull request
 * for abandoned work), which deletes the sandbox. A task that ended with this attempt records
 * git's result and says so, or says why its work could not be saved (a sandbox that no longer
 * answers). Never throws; answers whether the sandbox was deleted (the caller deletes it if not).
 */
export async function saveWorkBeforeDelete(provider: SandboxProvider, task: Task, now: Date): Promise<boolean> {
  const sandboxTask = sandboxTaskOf(task);
  if (!provider.collectRepository || !task.sandbox_id || !sandboxTask.repository) return false;
  let saved: Partial<Task> & { note: string };
  let deleted = false;
  try {
    const report = await provider.collectRepository({
      sandboxId: task.sandbox_id,
      task: { ...sandboxTask, repository: { ...sandboxTask.repository, pullRequest: false } },
    });
    deleted = true;
    const git = report.repository;
    if (!git) throw new Error('the provider answered no git result');
    const pushed = sandboxTask.repository.push && !git.push_error;
    saved = {
      branch: git.branch,
      base_commit: git.base_commit,
      head_commit: git.head_commit,
      diff_stat: git.diff_stat,
      files_changed: git.files_changed.slice(0, 1000),
      push_error: git.push_error ?? null,
      note:
        git.diff_stat.files === 0
          ? 'The agent had changed nothing.'
          : `The agent's work up to then is saved: ${git.diff_stat.files} file(s) changed, committed on ${git.branch}${pushed ? ' (pushed)' : ''}.`,
    };
    logger.info("saved the agent's work before deleting its sandbox", { task_id: task.id, user_id: task.user_id, files: git.diff_stat.files });
  } catch (error) {
    const why = (error instanceof Error ? error.message : String(error)).slice(0, 300);
    logger.warn("could not save the agent's work before deleting its sandbox", { task_id: task.id, user_id: task.user_id, sandbox_id: task.sandbox_id, error });
    saved = { note: `The agent's work could not be saved: ${why}` };
  }
  try {
    await recordSavedWork(task, now, saved);
  } catch (error) {
    logger.error("could not record the saved work on the task", { task_id: task.id, user_id: task.user_id, error });
  }
  return deleted;
}

/** Only on the task this attempt ended (a retried task starts over) and only once. */
async function recordSavedWork(task: Task, now: Date, saved: Partial<Task> & { note: string }): Promise<void> {
  const { note, ...fields } = saved;
  await transitionTask(task, now, (current) => {
    if (!TERMINAL_STATUSES.has(current.status) || current.attempts !== task.attempts || current.head_commit) return null;
    if (current.failure_reason?.includes("The agent's work")) return null;
    return { ...current, ...fields, failure_reason: [current.failure_reason, note].filter(Boolean).join('. ') };
  });
}
