import { artifactKeys, artifactStore } from '../platform/artifact-store.js';
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
