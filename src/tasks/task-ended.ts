import type { Task } from './task.js';
import { logger } from '../platform/logger.js';

/**
 * Called once when a task reaches a final state (completed, failed for good, cancelled), after
 * the transition is written; a failed attempt that is retried does not come here. The one place
 * where what follows a task's end (notifications) is added.
 */
export async function taskEnded(task: Task): Promise<void> {
  logger.debug('task ended', { task_id: task.id, user_id: task.user_id, status: task.status, attempts: task.attempt_history?.length ?? 0 });
}
