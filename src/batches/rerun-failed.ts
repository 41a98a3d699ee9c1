import { rerunKey, ONE_OFF_OCCURRENCE } from './batch.js';
import { DomainError } from '../platform/errors.js';
import { logger } from '../platform/logger.js';
import { getOccurrence, recordRerunItem } from './batch-store.js';
import { getOwnBatch, loadTasks, viewBatch, type BatchView } from './batch-views.js';
import { materializeRun, placeAll } from './materialize.js';
import { rerunInput } from '../tasks/rerun-task.js';
import { viewTasks } from '../tasks/task-views.js';

/**
 * POST /batches/{id}/rerun-failed: the failed tasks of one run (default: the latest) are queued
 * again, all or nothing, as a new run of the batch (key `rerun-<time>`), each with `rerun_of`.
 * 409 NOTHING_TO_RERUN when none failed; the user's limits hold as for any run.
 */
export async function rerunFailedTasks(userId: string, batchId: string, requested?: string, now = new Date()): Promise<BatchView> {
  const batch = await getOwnBatch(userId, batchId);
  const key = requested ?? batch.last_occurrence_key ?? ONE_OFF_OCCURRENCE;
  const occurrence = await getOccurrence(batch.id, key);
  if (!occurrence) throw new DomainError('NOT_FOUND', `Batch ${batch.id} has no run ${key}`);
  const failed = (await loadTasks(occurrence.task_ids)).filter((task) => task.status === 'failed');
  if (failed.length === 0) throw new DomainError('NOTHING_TO_RERUN', `No task of run ${key} of batch ${batch.id} failed; nothing to rerun`);
  const templates = failed.map((task) => rerunInput(task));
  const runKey = rerunKey(now);
  const result = await materializeRun(
    {
      batch,
      templates,
      placements: await placeAll(userId, templates, now),
      taskExtras: failed.map((task) => ({ rerun_of: task.id })),
      key: runKey,
      scheduledFor: null,
      notBefore: null,
      deadline: null,
      batchItems: [recordRerunItem(batch.id, runKey)],
      onRejected: 'error',
    },
    now,
  );
  // Two reruns within the same second are one run.
  if (result.kind === 'duplicate') return viewBatch({ ...batch, last_occurrence_key: runKey }, now);
  if (result.kind !== 'enqueued') throw new Error(`a rerun was ${result.kind}`);
  logger.info('batch failed tasks rerun', { batch_id: batch.id, user_id: userId, from: key, occurrence: runKey, tasks: failed.length });
  const view = await viewBatch({ ...batch, last_occurrence_key: runKey }, now);
  return { ...view, tasks: await viewTasks(userId, result.tasks, now) };
}
