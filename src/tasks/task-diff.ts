import { artifactKeys, artifactStore, hasArtifactStore } from '../platform/artifact-store.js';
import { TERMINAL_STATUSES, type Task } from './task.js';
import { DomainError } from '../platform/errors.js';
import { getOwnTask } from './task-views.js';

/**
 * A repository task's patch (unified diff, base_commit..head_commit) or, with `stat`, git's
 * `--stat` summary of it, from the artifact store.
 */
export async function getTaskPatch(userId: string, taskId: string, options: { stat: boolean }): Promise<string> {
  const task = await getOwnTask(userId, taskId);
  if (!task.repository) throw new DomainError('NOT_FOUND', `Task ${taskId} is not a repository task: it has no patch`);
  if (!task.head_commit) throw new DomainError('NOT_FOUND', `Task ${taskId} has no patch yet (status ${task.status})`);
  const text = await artifactStore().getText(options.stat ? artifactKeys.diffStat(taskId) : artifactKeys.patch(taskId));
  if (text === null) throw new DomainError('NOT_FOUND', `The patch of task ${taskId} is no longer kept`);
  return text;
}

/**
 * The full agent log kept after a task ended (its last `maxBytes`), or null when none was kept
 * (no artifact store, or the task has not ended).
 */
export async function keptAgentLog(task: Task, maxBytes: number): Promise<string | null> {
  if (!TERMINAL_STATUSES.has(task.status) || task.attempts < 1 || !hasArtifactStore()) return null;
  const text = await artifactStore().getText(artifactKeys.agentLog(task.id, task.attempts));
  if (text === null) return null;
  const bytes = Buffer.from(text, 'utf8');
  return bytes.byteLength <= maxBytes ? text : bytes.subarray(bytes.byteLength - maxBytes).toString('utf8').replace(/^\uFFFD+/, '');
}
