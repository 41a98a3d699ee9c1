import { buildBatchReport, type BatchReport } from './report.js';
import { isRerunKey, ONE_OFF_OCCURRENCE, type Batch, type BatchOccurrence } from './batch.js';
import { DomainError, ValidationError } from '../platform/errors.js';
import { getOccurrence, listOccurrences } from './batch-store.js';
import { floorToMinute } from './schedule.js';
import { getOwnBatch, loadTasks, latestOccurrence } from './batch-views.js';

export interface BatchReportView {
  batch: Batch;
  occurrence: BatchOccurrence | null;
  /** Keys of the batch's runs, newest first (at most 60), for `?occurrence=`. */
  occurrences: string[];
  report: BatchReport;
}

function occurrenceKeyOf(batch: Batch, requested: string): string {
  if (isRerunKey(requested)) return requested;
  if (!batch.schedule) {
    if (requested !== ONE_OFF_OCCURRENCE) throw new DomainError('NOT_FOUND', `Batch ${batch.id} runs once; its only occurrence is "${ONE_OFF_OCCURRENCE}"`);
    return ONE_OFF_OCCURRENCE;
  }
  const time = Date.parse(requested);
  if (Number.isNaN(time)) throw new ValidationError(`occurrence: "${requested}" is not an occurrence key such as 2026-10-26T01:00Z`);
  return `${new Date(floorToMinute(new Date(time))).toISOString().slice(0, 16)}Z`;
}

/** GET /batches/{id}/report: the morning report of one run (default: the latest). */
export async function getBatchReport(userId: string, batchId: string, requested?: string, now = new Date()): Promise<BatchReportView> {
  const batch = await getOwnBatch(userId, batchId);
  const occurrences = await listOccurrences(batch.id, 60);
  let occurrence: BatchOccurrence | null;
  if (requested) {
    const key = occurrenceKeyOf(batch, requested);
    occurrence = await getOccurrence(batch.id, key);
    if (!occurrence) throw new DomainError('NOT_FOUND', `Batch ${batch.id} has no occurrence ${key}`);
  } else {
    occurrence = await latestOccurrence(batch, now);
  }
  const tasks = occurrence ? await loadTasks(occurrence.task_ids) : [];
  return { batch, occurrence, occurrences: occurrences.map((o) => o.key), report: buildBatchReport(tasks) };
}
