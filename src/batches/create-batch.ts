import { randomUUID } from 'node:crypto';
import { batchAdmissionError } from './admission.js';
import { InvalidScheduleError, nextOccurrences, parseSchedule, type BatchSchedule } from './schedule.js';
import { getConfig } from '../platform/config.js';
import { ONE_OFF_OCCURRENCE, type Batch } from './batch.js';
import { limitsOf } from '../accounts/account.js';
import { ValidationError } from '../platform/errors.js';
import { logger } from '../platform/logger.js';
import type { BatchCreate } from './schemas.js';
import type { TaskCreate } from '../tasks/schemas.js';
import { putBatchItem, putTemplateItem } from './batch-store.js';
import { transact } from '../platform/dynamodb/transact.js';
import { getUser } from '../accounts/user-store.js';
import { createBatchSchedule, deleteBatchSchedule } from './batch-scheduler.js';
import { viewTasks } from '../tasks/task-views.js';
import { placeAll, materializeRun } from './materialize.js';
import type { BatchView} from './batch-views.js';
import { viewBatch } from './batch-views.js';

function toBatchSchedule(input: { cron: string; timezone: string }): BatchSchedule {
  try {
    return parseSchedule(input);
  } catch (error) {
    if (error instanceof InvalidScheduleError) {
      throw new ValidationError(`schedule.${error.field}: ${error.message}`, { field: `schedule.${error.field}` });
    }
    throw error;
  }
}

function assertTimes(input: BatchCreate, now: Date): void {
  if (input.deadline && Date.parse(input.deadline) <= now.getTime()) {
    throw new ValidationError(`deadline: ${input.deadline} has already passed`, { field: 'deadline' });
  }
}

const iso = (value: string | undefined): string | null => (value ? new Date(value).toISOString() : null);

/**
 * POST /batches. A one-off batch queues all its tasks now, all or nothing (the error names the
 * first task that does not fit). A recurring batch stores its tasks as a template, gets an
 * EventBridge schedule (AWS) or a due-index entry (one machine), and queues them at each occurrence.
 */
export async function createBatch(userId: string, input: BatchCreate, now = new Date()): Promise<BatchView> {
  assertTimes(input, now);
  const schedule = input.schedule ? toBatchSchedule(input.schedule) : null;
  const templates = input.tasks;
  const base: Batch = {
    id: randomUUID(),
    user_id: userId,
    name: input.name,
    status: 'active',
    task_count: templates.length,
    not_before: iso(input.not_before),
    deadline: iso(input.deadline),
    deadline_offset_seconds: null,
    timezone: schedule?.timezone ?? input.timezone ?? 'UTC',
    schedule,
    next_occurrence_at: null,
    last_occurrence_key: null,
    occurrence_count: 0,
    created_at: now.toISOString(),
    cancelled_at: null,
  };
  if (schedule) return createRecurringBatch(base, schedule, templates, now);

  const batch: Batch = { ...base, last_occurrence_key: ONE_OFF_OCCURRENCE, occurrence_count: 1 };
  const result = await materializeRun(
    {
      batch,
      templates,
      placements: await placeAll(userId, templates, now),
      key: ONE_OFF_OCCURRENCE,
      scheduledFor: null,
      notBefore: batch.not_before,
      deadline: batch.deadline,
      batchItems: [putBatchItem(batch), putTemplateItem(batch, templates)],
      onRejected: 'error',
    },
    now,
  );
  if (result.kind !== 'enqueued') throw new Error(`a new batch's run was ${result.kind}`);
  logger.info('batch created', { batch_id: batch.id, user_id: userId, tasks: templates.length, not_before: batch.not_before });
  const view = await viewBatch(batch, now);
  return { ...view, tasks: await viewTasks(userId, result.tasks, now) };
}

async function createRecurringBatch(base: Batch, schedule: BatchSchedule, templates: TaskCreate[], now: Date): Promise<BatchView> {
  const startAfter = base.not_before && base.not_before > now.toISOString() ? new Date(base.not_before) : now;
  const [first] = nextOccurrences(schedule, startAfter, 1);
  if (!first) throw new ValidationError(`schedule.cron: "${schedule.cron}" has no occurrence after ${startAfter.toISOString()}`, { field: 'schedule.cron' });
  let offset: number | null = null;
  if (base.deadline) {
    offset = Math.round((Date.parse(base.deadline) - first.getTime()) / 1000);
    if (offset <= 0) {
      throw new ValidationError(`deadline: ${base.deadline} is not after the first run at ${first.toISOString()}`, { field: 'deadline' });
    }
  }
  // Every run must fit under the pending limit on an empty queue, or no run could ever be queued.
  const user = await getUser(base.user_id, now);
  const fit = batchAdmissionError({ ...user, pending_count: 0, hours_used_seconds: 0 }, limitsOf(user, getConfig().maxPendingPerUser), templates.map((t) => t.title), now);
  if (fit) throw fit;
  // Routing is decided again at each run; a task that can never be placed (a space the user is
  // not in) is refused now rather than skipped every night.
  await placeAll(base.user_id, templates, now);
  const batch: Batch = { ...base, deadline_offset_seconds: offset, next_occurrence_at: first.toISOString() };
  // Schedule first: a schedule whose batch never got written only triggers a "batch not found" no-op.
  await createBatchSchedule({ id: batch.id, name: batch.name, schedule, not_before: batch.not_before }, now);
  try {
    await transact([putBatchItem(batch), putTemplateItem(batch, templates)]);
  } catch (error) {
    await deleteBatchSchedule(batch.id).catch((cleanup: unknown) => logger.error('could not delete an orphan batch schedule', { batch_id: batch.id, error: cleanup }));
    throw error;
  }
  logger.info('recurring batch created', { batch_id: batch.id, user_id: batch.user_id, schedule, first_run: batch.next_occurrence_at });
  return viewBatch(batch, now);
}
