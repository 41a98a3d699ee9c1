import { type Batch } from './batch.js';
import { TERMINAL_STATUSES } from '../tasks/task.js';
import { DomainError } from '../platform/errors.js';
import { logger } from '../platform/logger.js';
import { getOccurrence, listOccurrences, markBatchCancelled } from './batch-store.js';
import { listUserTasks } from '../tasks/task-store.js';
import { deleteBatchSchedule } from './batch-scheduler.js';
import { cancelTaskHandingOffSandbox } from '../tasks/finish-task.js';
import { finishOccurrence } from './materialize.js';
import { getOwnBatch, loadTasks } from './batch-views.js';

async function unfinishedTaskIds(userId: string, batchId: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const status of ['pending', 'active'] as const) {
    let cursor: string | undefined;
    do {
      const page = await listUserTasks(userId, { status, limit: 100, cursor });
      for (const task of page.tasks) if (task.batch_id === batchId) ids.add(task.id);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }
  return ids;
}

/**
 * DELETE /batches/{id}: stops the recurrence (batch cancelled, schedule deleted) and cancels every
 * task of the batch that has not finished (the sandboxes of running ones are stopped by the
 * spawner, from a stop message each). Finished work stays in the report. Safe to repeat.
 */
export async function cancelBatch(userId: string, batchId: string, now = new Date()): Promise<{ batch: Batch; tasks_cancelled: number }> {
  const owned = await getOwnBatch(userId, batchId);
  const batch = (await markBatchCancelled(batchId, now)) ?? owned;
  if (batch.schedule) await deleteBatchSchedule(batchId);
  // Every task a run reserved must exist before cancelling, or one written later would still run.
  const recent = await listOccurrences(batchId, 5);
  for (const occurrence of recent) if (occurrence.state === 'materializing') await finishOccurrence(batchId, occurrence.key);
  // Unfinished tasks come from the user's status index (bounded by the plan's limits); the newest
  // run is read directly too, in case the index has not caught up with it yet.
  const ids = await unfinishedTaskIds(userId, batchId);
  const newest = recent[0] ? await getOccurrence(batchId, recent[0].key) : null;
  for (const task of await loadTasks(newest?.task_ids ?? [])) if (!TERMINAL_STATUSES.has(task.status)) ids.add(task.id);
  let cancelled = 0;
  for (const taskId of ids) {
    try {
      // The spawner stops the sandboxes: this function carries no sandbox providers.
      await cancelTaskHandingOffSandbox(userId, taskId, now);
      cancelled += 1;
    } catch (error) {
      // It finished on its own meanwhile.
      if (!(error instanceof DomainError && error.code === 'TASK_ALREADY_COMPLETED')) throw error;
    }
  }
  logger.info('batch cancelled', { batch_id: batchId, user_id: userId, tasks_cancelled: cancelled });
  return { batch, tasks_cancelled: cancelled };
}
