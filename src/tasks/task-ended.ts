import type { Task } from './task.js';
import { logger } from '../platform/logger.js';
import { notifyTaskFinished } from '../notifications/emit.js';

/**
 * Called once when a task reaches a final state (completed, failed for good, cancelled), after
 * the transition is written; a failed attempt that is retried does not come here. Every way a
 * task ends (a report, a cancel, a system failure, a pending task that can never start or whose
 * device never came) passes here, and this is the one place where what follows is added:
 * `task.completed`/`task.failed`, the digest's record and `batch.run_finished`.
 */
export async function taskEnded(task: Task, now = new Date()): Promise<void> {
  logger.debug('task ended', { task_id: task.id, user_id: task.user_id, status: task.status, attempts: task.attempt_history?.length ?? 0 });
  await notifyTaskFinished(task, now);
}
