import { floorToMinute, nextOccurrences, occurrenceAt, occurrenceKey } from './schedule.js';
import { ONE_OFF_OCCURRENCE } from './batch.js';
import { DomainError, ValidationError } from '../platform/errors.js';
import { logger } from '../platform/logger.js';
import { advanceBatchItem, getBatch, getBatchTemplate, getOccurrence } from './batch-store.js';
import { MAX_OCCURRENCE_LATENESS_SECONDS } from './batch-scheduler.js';
import type { RunPlan } from './materialize.js';
import { placeAll, recordSkipped, finishOccurrence, materializeRun } from './materialize.js';

export type TriggerOutcomeKind = 'enqueued' | 'already-enqueued' | 'resumed' | 'skipped' | 'not-due' | 'batch-not-found' | 'batch-cancelled';

export interface TriggerOutcome {
  batch_id: string;
  occurrence: string | null;
  outcome: TriggerOutcomeKind;
  task_ids: string[];
}

/**
 * The batch-trigger's work: queues one occurrence's tasks, exactly once however often it is
 * invoked (the occurrence record is a conditional Put in the tasks' transaction). Without
 * `requested` it runs the latest occurrence due by `now` (a late trigger still maps to the run
 * it was meant for); with it, that occurrence (key or time), or resumes a half-written run.
 */
export async function runBatchOccurrence(batchId: string, requested?: string, now = new Date()): Promise<TriggerOutcome> {
  const outcome = (kind: TriggerOutcomeKind, occurrence: string | null, taskIds: string[] = []): TriggerOutcome => ({
    batch_id: batchId,
    occurrence,
    outcome: kind,
    task_ids: taskIds,
  });
  const batch = await getBatch(batchId);
  if (!batch) return outcome('batch-not-found', requested ?? null);
  if (!batch.schedule) {
    // A one-off batch ran when it was created; a trigger can only finish a half-written run.
    const resumed = await finishOccurrence(batch.id, ONE_OFF_OCCURRENCE);
    return outcome(resumed.length > 0 ? 'resumed' : 'already-enqueued', ONE_OFF_OCCURRENCE);
  }
  const at = requested ? new Date(requested) : now;
  if (Number.isNaN(at.getTime())) throw new ValidationError(`occurrence "${requested}" is neither an occurrence key nor a time`);
  const due = occurrenceAt(batch.schedule, at.getTime() > now.getTime() ? now : at);
  if (!due || due.getTime() <= floorToMinute(new Date(batch.created_at)) || (batch.not_before && due.toISOString() < batch.not_before)) {
    return outcome('not-due', null);
  }
  const key = occurrenceKey(batch.schedule, due);
  const existing = await getOccurrence(batch.id, key);
  if (existing) {
    const resumed = await finishOccurrence(batch.id, key);
    return outcome(resumed.length > 0 ? 'resumed' : 'already-enqueued', key, existing.task_ids);
  }
  if (batch.status !== 'active') return outcome('batch-cancelled', key);

  const [next] = nextOccurrences(batch.schedule, due > now ? due : now, 1);
  const templates = await getBatchTemplate(batch.id);
  if (!templates) throw new Error(`batch ${batch.id} has no template`);
  const plan: RunPlan = {
    batch,
    templates,
    placements: [],
    key,
    scheduledFor: due.toISOString(),
    notBefore: null,
    deadline: batch.deadline_offset_seconds === null ? null : new Date(due.getTime() + batch.deadline_offset_seconds * 1000).toISOString(),
    batchItems: [advanceBatchItem(batch.id, key, next ? next.toISOString() : null)],
    onRejected: 'skip',
  };
  const lateMinutes = Math.round((now.getTime() - due.getTime()) / 60_000);
  if (now.getTime() - due.getTime() > MAX_OCCURRENCE_LATENESS_SECONDS * 1000) {
    // Too late to be the night's run (the runtime was down): recorded as missed, never run by surprise.
    await recordSkipped(plan, now, { code: 'MISSED', message: `The trigger came ${lateMinutes} minutes late; this run was skipped` });
    return outcome('skipped', key);
  }
  try {
    plan.placements = await placeAll(batch.user_id, templates, now);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    // E.g. the device a `local` task needs is offline tonight: the run is skipped, and says why.
    await recordSkipped(plan, now, { code: error.code, message: error.message });
    logger.warn('batch run skipped', { batch_id: batch.id, user_id: batch.user_id, occurrence: key, reason: error.message });
    return outcome('skipped', key);
  }
  const result = await materializeRun(plan, now);
  switch (result.kind) {
    case 'enqueued':
      logger.info('batch run enqueued', { batch_id: batch.id, user_id: batch.user_id, occurrence: key, tasks: result.tasks.length });
      return outcome('enqueued', key, result.occurrence.task_ids);
    case 'duplicate':
      return outcome('already-enqueued', key, result.occurrence.task_ids);
    case 'skipped':
      logger.warn('batch run skipped', { batch_id: batch.id, user_id: batch.user_id, occurrence: key, reason: result.occurrence.skipped_reason });
      return outcome('skipped', key);
    case 'inactive':
      return outcome('batch-cancelled', key);
  }
}
