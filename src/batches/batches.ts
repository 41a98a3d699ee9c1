import { createHash, randomUUID } from 'node:crypto';
import { batchAdmissionError, type BatchTaskRejection } from './admission.js';
import { estimateBatchCompletion, type BatchEta } from './eta.js';
import { batchProgress, buildBatchReport, type BatchProgress, type BatchReport } from './report.js';
import {
  InvalidScheduleError,
  nextOccurrences,
  occurrenceAt,
  occurrenceKey,
  parseSchedule,
  type BatchSchedule,
} from './schedule.js';
import { getConfig } from '../platform/config.js';
import { BatchNotFoundError, ONE_OFF_OCCURRENCE, type Batch, type BatchOccurrence } from './batch.js';
import { TERMINAL_STATUSES, type Task, type TaskStatus } from '../tasks/task.js';
import { accountForTransition, limitsOf, type UserAccount } from '../accounts/account.js';
import { ContentionError, DomainError, ValidationError } from '../platform/errors.js';
import { logger } from '../platform/logger.js';
import { wakeOrchestrator } from '../platform/queue/messages.js';
import type { BatchCreate } from './schemas.js';
import type { TaskCreate } from '../tasks/schemas.js';
import {
  advanceBatchItem,
  completeOccurrenceItem,
  getBatch,
  getBatchTemplate,
  getOccurrence,
  listOccurrences,
  listUserBatches,
  markBatchCancelled,
  putBatchItem,
  putOccurrenceItem,
  putTemplateItem,
  type BatchPage,
} from './batch-store.js';
import { getTask, listPendingTasks, listUserTasks, pendingSortKey, putTaskItem } from '../tasks/task-store.js';
import { transact, TransactionConflictError, withOptimisticRetry, type TransactItem } from '../platform/dynamodb/transact.js';
import { getUser, putUserItem } from '../accounts/user-store.js';
import { createBatchSchedule, deleteBatchSchedule, MAX_OCCURRENCE_LATENESS_SECONDS } from './batch-scheduler.js';
import { placementFields, placeTask } from '../tasks/placement.js';
import { cancelTask, newTask, viewTasks, type TaskView } from '../tasks/tasks.js';

/*
 * All-or-nothing for up to 100 tasks. A DynamoDB transaction holds at most 100 items, and a run
 * needs its tasks + the user's account + the occurrence record + the batch (+ the template when
 * the batch is created): up to 104. So a run is written as:
 *   0. every task is routed first (placeTask, as POST /tasks does); the first that cannot be
 *      placed fails the run, named, before anything is written.
 *   1. the COMMIT transaction: the occurrence record (conditional Put: the exactly-once guard),
 *      the batch, the user's account with the pending counter and next_eligible_at moved for
 *      EVERY task of the run (so TOO_MANY_PENDING is decided once, for all of them), and as many
 *      tasks as fit (96 or 97). Nothing is visible unless it succeeds; its failure is the
 *      batch's error, naming the first task that does not fit. The tasks that did not fit (at
 *      most 4) are stored on the occurrence record, exactly as they will be written.
 *   2. only for runs larger than that: one more transaction writing those tasks and flipping the
 *      occurrence `materializing -> enqueued`. It cannot fail for a business reason (the
 *      reservation is taken) and is idempotent; the occurrence waits on the `due` index
 *      (BATCH_RESUME) until it is done, so a retry, the next trigger, a GET, a DELETE or the
 *      batch scheduler finish the same write after a crash.
 * The batch's task bodies are stored once (TEMPLATE item): each recurring occurrence builds its
 * tasks from them.
 */
const TRANSACTION_LIMIT = 100;

/** A run still materializing after this long lost its follow-up write; the batch scheduler resumes it. */
export const RESUME_STALLED_AFTER_SECONDS = 30;

/** A batch as its owner sees it: the latest run's progress and whether it makes its deadline. */
export interface BatchView {
  batch: Batch;
  /** The latest run (the only one for a one-off batch); null before a recurring batch first ran. */
  occurrence: BatchOccurrence | null;
  progress: BatchProgress;
  /** The deadline answer for the current run, or the next one when nothing is running. */
  eta: BatchEta | null;
  /** The run's tasks; only filled in when a batch is created. */
  tasks: TaskView[];
}

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

/** Task ids of a run are derived from (batch, run, index): a run can never create a task twice. */
export function batchTaskId(batchId: string, key: string, index: number): string {
  const hex = createHash('sha256').update(`${batchId}/${key}/${index}`).digest('hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const later = (a: string | null, b: string | null): string | null => (a === null ? b : b === null ? a : a > b ? a : b);

/** The tasks of a run, routed: task i is created at materialized_at + i ms, so the run keeps its order. */
function occurrenceTasks(plan: RunPlan, occurrence: BatchOccurrence): Task[] {
  const base = Date.parse(occurrence.materialized_at);
  return plan.templates.map((template, index) =>
    newTask(plan.batch.user_id, template, new Date(base + index), {
      ...plan.placements[index],
      id: occurrence.task_ids[index] ?? batchTaskId(plan.batch.id, occurrence.key, index),
      batch_id: plan.batch.id,
      not_before: later(occurrence.not_before, template.not_before ? new Date(template.not_before).toISOString() : null),
    }),
  );
}

/** A task's error, naming the task: `Task 3 ("title"): ...`, with `details.task_index`. */
function taskError(index: number, title: string, error: DomainError): DomainError {
  const details: BatchTaskRejection = { task_index: index, title };
  return new DomainError(error.code, `Task ${index} ("${title}"): ${error.message}; nothing was queued`, { details, cause: error });
}

/**
 * Routes every task as POST /tasks does (space membership, device or cloud, estimated credits,
 * model). The first task (by index) that cannot be placed is the run's error.
 */
async function placeAll(userId: string, templates: TaskCreate[], now: Date): Promise<Partial<Task>[]> {
  const placements: Partial<Task>[] = [];
  for (let i = 0; i < templates.length; i += 10) {
    const settled = await Promise.allSettled(templates.slice(i, i + 10).map((template) => placeTask(userId, template, now)));
    for (const [offset, result] of settled.entries()) {
      if (result.status === 'fulfilled') {
        placements.push(placementFields(result.value));
        continue;
      }
      const index = i + offset;
      if (result.reason instanceof DomainError) throw taskError(index, templates[index]?.title ?? '', result.reason);
      throw result.reason;
    }
  }
  return placements;
}

/**
 * Wakes the orchestrator for tasks that may start now, and at each distinct later not_before.
 * The delay is measured from the moment of sending (not from the request's start), so a slow
 * write does not push the wake-up past not_before.
 */
async function wakeFor(tasks: Task[]): Promise<void> {
  const iso = new Date().toISOString();
  const laterTimes = [...new Set(tasks.map((task) => task.not_before).filter((time): time is string => time !== null && time > iso))].sort();
  if (tasks.some((task) => task.not_before === null || task.not_before <= iso)) await wakeOrchestrator('batch-enqueued');
  for (const at of laterTimes) await wakeOrchestrator('not-before', new Date(at));
}

interface RunPlan {
  batch: Batch;
  templates: TaskCreate[];
  /** Routing fields per task (placeAll). */
  placements: Partial<Task>[];
  key: string;
  scheduledFor: string | null;
  notBefore: string | null;
  deadline: string | null;
  /** Items written with the commit besides the occurrence, user and tasks (the batch itself). */
  batchItems: TransactItem[];
  /** `error`: a rejected run is the caller's error (creation); `skip`: it is recorded as skipped (recurring). */
  onRejected: 'error' | 'skip';
}

type CommitResult =
  | { kind: 'enqueued'; occurrence: BatchOccurrence; tasks: Task[] }
  | { kind: 'duplicate'; occurrence: BatchOccurrence }
  | { kind: 'skipped'; occurrence: BatchOccurrence }
  | { kind: 'inactive' };

function newOccurrence(plan: RunPlan, now: Date, taskIds: string[], committed: number): BatchOccurrence {
  return {
    batch_id: plan.batch.id,
    user_id: plan.batch.user_id,
    key: plan.key,
    scheduled_for: plan.scheduledFor,
    state: committed < taskIds.length ? 'materializing' : 'enqueued',
    skipped_reason: null,
    task_ids: taskIds,
    committed_count: committed,
    materialized_at: now.toISOString(),
    not_before: plan.notBefore,
    deadline: plan.deadline,
  };
}

function skippedOccurrence(plan: RunPlan, now: Date, reason: { code: string; message: string }): BatchOccurrence {
  return { ...newOccurrence(plan, now, [], 0), state: 'skipped', skipped_reason: reason };
}

/** Records a run that will not happen (and moves the batch on); a run recorded meanwhile wins. */
async function recordSkipped(plan: RunPlan, now: Date, reason: { code: string; message: string }): Promise<void> {
  try {
    await transact([putOccurrenceItem(skippedOccurrence(plan, now, reason)), ...plan.batchItems]);
  } catch (error) {
    if (!(error instanceof TransactionConflictError)) throw error;
  }
}

/** The user's account after queueing all `tasks` (one version step, as enqueueTasks does). */
function reserveAll(user: UserAccount, tasks: Task[], now: Date): UserAccount {
  let next = user;
  for (const task of tasks) next = { ...accountForTransition(next, null, task, now), version: user.version };
  return { ...next, version: user.version + 1 };
}

/** Step 1: the commit transaction (see the comment at the top). Lost races are retried with fresh reads. */
async function commitRun(plan: RunPlan, now: Date): Promise<CommitResult> {
  const { batch, templates } = plan;
  try {
    return await withOptimisticRetry(async (): Promise<CommitResult> => {
      const existing = await getOccurrence(batch.id, plan.key);
      if (existing) return { kind: 'duplicate', occurrence: existing };
      if (plan.onRejected === 'skip') {
        const current = await getBatch(batch.id);
        if (!current || current.status !== 'active') return { kind: 'inactive' };
      }
      const user = await getUser(batch.user_id, now);
      const rejection = batchAdmissionError(user, limitsOf(user, getConfig().maxPendingPerUser), templates.map((t) => t.title), now);
      if (rejection) {
        if (plan.onRejected === 'error') throw rejection;
        const skipped = skippedOccurrence(plan, now, { code: rejection.code, message: rejection.message });
        await transact([putOccurrenceItem(skipped), ...plan.batchItems]);
        return { kind: 'skipped', occurrence: skipped };
      }
      const taskIds = templates.map((_, index) => batchTaskId(batch.id, plan.key, index));
      const room = TRANSACTION_LIMIT - 2 - plan.batchItems.length;
      const occurrence = newOccurrence(plan, now, taskIds, Math.min(room, taskIds.length));
      const tasks = occurrenceTasks(plan, occurrence);
      const head = tasks.slice(0, occurrence.committed_count);
      if (occurrence.committed_count < tasks.length) occurrence.unwritten_tasks = tasks.slice(occurrence.committed_count);
      await transact([
        putOccurrenceItem(occurrence),
        ...plan.batchItems,
        // The reservation covers every task of the run, including those written in step 2.
        putUserItem(reserveAll(user, tasks, now), now),
        ...head.map((task) => putTaskItem(task)),
      ]);
      return { kind: 'enqueued', occurrence, tasks };
    });
  } catch (error) {
    if (error instanceof TransactionConflictError) throw new ContentionError(`batch ${batch.id}`);
    throw error;
  }
}

/**
 * Step 2: writes the tasks the commit had no room for and marks the run enqueued. Idempotent;
 * returns the tasks it wrote (none when the run was already complete).
 */
export async function finishOccurrence(batchId: string, key: string): Promise<Task[]> {
  try {
    return await withOptimisticRetry(async () => {
      const occurrence = await getOccurrence(batchId, key);
      if (!occurrence || occurrence.state !== 'materializing') return [];
      // At most 4 tasks are left (100 tasks, at least 96 in the commit), so one transaction holds them.
      const rest = occurrence.unwritten_tasks ?? [];
      await transact([...rest.map((task) => putTaskItem(task)), completeOccurrenceItem(batchId, key)]);
      logger.info('batch run finished materializing', { batch_id: batchId, occurrence: key, tasks: rest.length });
      await wakeFor(rest);
      return rest;
    });
  } catch (error) {
    if (error instanceof TransactionConflictError) throw new ContentionError(`batch ${batchId}`);
    throw error;
  }
}

/** Commit, then the follow-up write when needed, then the wake-ups. */
async function materializeRun(plan: RunPlan, now: Date): Promise<CommitResult> {
  const result = await commitRun(plan, now);
  if (result.kind === 'enqueued') {
    if (result.occurrence.state === 'materializing') await finishOccurrence(plan.batch.id, plan.key);
    await wakeFor(result.tasks.slice(0, result.occurrence.committed_count));
  } else if (result.kind === 'duplicate' && result.occurrence.state === 'materializing') {
    await finishOccurrence(plan.batch.id, plan.key);
  }
  return result;
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

export type TriggerOutcomeKind = 'enqueued' | 'already-enqueued' | 'resumed' | 'skipped' | 'not-due' | 'batch-not-found' | 'batch-cancelled';

export interface TriggerOutcome {
  batch_id: string;
  occurrence: string | null;
  outcome: TriggerOutcomeKind;
  task_ids: string[];
}

const floorToMinute = (time: Date): Date => new Date(Math.floor(time.getTime() / 60_000) * 60_000);

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
  if (!due || due <= floorToMinute(new Date(batch.created_at)) || (batch.not_before && due.toISOString() < batch.not_before)) {
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

/** The batch if it belongs to `userId`; another user's batch is reported as not found. */
export async function getOwnBatch(userId: string, batchId: string): Promise<Batch> {
  const batch = await getBatch(batchId);
  if (!batch || batch.user_id !== userId) throw new BatchNotFoundError(batchId);
  return batch;
}

/** Reads tasks by id (strongly consistent), in the given order; missing ones are left out. */
async function loadTasks(ids: readonly string[]): Promise<Task[]> {
  const tasks: (Task | null)[] = [];
  for (let i = 0; i < ids.length; i += 25) {
    tasks.push(...(await Promise.all(ids.slice(i, i + 25).map((id) => getTask(id)))));
  }
  return tasks.filter((task): task is Task => task !== null);
}

/** The latest run, finishing it first if its follow-up write was lost. */
async function latestOccurrence(batch: Batch, now: Date): Promise<BatchOccurrence | null> {
  if (!batch.last_occurrence_key) return null;
  const occurrence = await getOccurrence(batch.id, batch.last_occurrence_key);
  if (occurrence?.state === 'materializing' && Date.parse(occurrence.materialized_at) + RESUME_STALLED_AFTER_SECONDS * 1000 <= now.getTime()) {
    await finishOccurrence(batch.id, occurrence.key);
    return getOccurrence(batch.id, occurrence.key);
  }
  return occurrence;
}

async function activeTasksOf(userId: string): Promise<Task[]> {
  const [claimed, running] = await Promise.all(
    (['claimed', 'running'] as const).map((status) => listUserTasks(userId, { status, limit: 100 })),
  );
  return [...(claimed?.tasks ?? []), ...(running?.tasks ?? [])];
}

/** The user's recent average run, in minutes, or null without history. */
async function recentAverageMinutes(userId: string): Promise<number | null> {
  const { tasks } = await listUserTasks(userId, { status: 'completed', limit: 20 });
  const runs = tasks.map((task) => task.used_seconds ?? 0).filter((seconds) => seconds > 0);
  return runs.length === 0 ? null : runs.reduce((sum, seconds) => sum + seconds, 0) / runs.length / 60;
}

function hhmm(instant: string, timezone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit' }).format(new Date(instant));
}

/** The answer for a run that is over: when it finished, against its deadline. */
function finishedAnswer(batch: Batch, occurrence: BatchOccurrence, runTasks: Task[]): BatchEta {
  const finished = runTasks.map((task) => task.completed_at ?? occurrence.materialized_at).sort().at(-1) ?? occurrence.materialized_at;
  const onTrack = occurrence.deadline === null ? null : finished <= occurrence.deadline;
  const reason =
    onTrack === false && occurrence.deadline
      ? `finished ${hhmm(finished, batch.timezone)}, deadline ${hhmm(occurrence.deadline, batch.timezone)}`
      : null;
  return { expected_finish_at: finished, on_track: onTrack, reason };
}

/** What the estimate needs to know about the run it is for. */
interface RunToEstimate {
  startAt: Date;
  deadline: string | null;
  /** The run's pending tasks in claim order (empty for a run still to come). */
  pending: Task[];
  minutes: (number | null)[];
}

/**
 * The deadline answer: for a run that is over, when it finished; for the run in progress (or a
 * recurring batch's next run), estimateBatchCompletion over the user's lanes, what runs and waits
 * ahead, and the run's own tasks (estimated_minutes, else the user's recent average, else the
 * plan's maximum).
 */
async function forecast(batch: Batch, occurrence: BatchOccurrence | null, runTasks: Task[], now: Date): Promise<BatchEta | null> {
  if (batch.status === 'cancelled') return null;
  const unfinished = runTasks.filter((task) => !TERMINAL_STATUSES.has(task.status));
  const inProgress = occurrence !== null && occurrence.state !== 'skipped' && (unfinished.length > 0 || occurrence.state === 'materializing');
  let run: RunToEstimate;
  if (inProgress) {
    const pending = unfinished.filter((task) => task.status === 'pending').sort((a, b) => pendingSortKey(a).localeCompare(pendingSortKey(b)));
    run = {
      startAt: new Date(occurrence.not_before ?? now.toISOString()),
      deadline: occurrence.deadline,
      pending,
      minutes: pending.map((task) => task.estimated_minutes ?? null),
    };
  } else if (batch.schedule && batch.next_occurrence_at) {
    const templates = (await getBatchTemplate(batch.id)) ?? [];
    const startAt = new Date(batch.next_occurrence_at);
    run = {
      startAt,
      deadline: batch.deadline_offset_seconds === null ? null : new Date(startAt.getTime() + batch.deadline_offset_seconds * 1000).toISOString(),
      pending: [],
      minutes: [...templates].sort((a, b) => a.priority - b.priority).map((task) => task.estimated_minutes ?? null),
    };
  } else {
    return occurrence && occurrence.state !== 'skipped' ? finishedAnswer(batch, occurrence, runTasks) : null;
  }

  const user = await getUser(batch.user_id, now);
  const limits = limitsOf(user, getConfig().maxPendingPerUser);
  const fallback = (await recentAverageMinutes(batch.user_id)) ?? limits.max_task_duration_minutes;
  const [active, pending] = await Promise.all([activeTasksOf(batch.user_id), listPendingTasks(batch.user_id)]);
  const remaining = (task: Task): number => {
    const started = Date.parse(task.started_at ?? task.claimed_at ?? now.toISOString());
    const left = Math.max(0, (task.estimated_minutes ?? fallback) - (now.getTime() - started) / 60_000);
    return task.timeout_at ? Math.min(left, Math.max(0, (Date.parse(task.timeout_at) - now.getTime()) / 60_000)) : left;
  };
  // Other pending work the orchestrator takes before this run's last task (priority, then age).
  const runIds = new Set(runTasks.map((task) => task.id));
  const last = run.pending.at(-1);
  const lastKey = last ? pendingSortKey(last) : '\uffff';
  const ahead = pending.filter((task) => !runIds.has(task.id) && pendingSortKey(task) < lastKey);
  return estimateBatchCompletion({
    now,
    startAt: run.startAt,
    deadline: run.deadline ? new Date(run.deadline) : null,
    slots: Math.max(1, limits.max_concurrent_agents),
    runningRemainingMinutes: active.map(remaining),
    queuedAheadMinutes: ahead.map((task) => task.estimated_minutes ?? fallback),
    batchTaskMinutes: run.minutes,
    fallbackMinutes: fallback,
    maxTaskMinutes: limits.max_task_duration_minutes,
    plan: user.plan,
    timezone: batch.timezone,
  });
}

async function viewBatch(batch: Batch, now: Date): Promise<BatchView> {
  const occurrence = await latestOccurrence(batch, now);
  const tasks = occurrence ? await loadTasks(occurrence.task_ids) : [];
  const progress = batchProgress(tasks);
  // Tasks of a run still materializing exist a moment later, pending.
  const missing = (occurrence?.task_ids.length ?? 0) - tasks.length;
  if (missing > 0) Object.assign(progress, { total: progress.total + missing, pending: progress.pending + missing, finished: false });
  return { batch, occurrence, progress, eta: await forecast(batch, occurrence, tasks, now), tasks: [] };
}

/** GET /batches/{id}: progress of the latest run by status, and the deadline answer. */
export async function getBatchView(userId: string, batchId: string, now = new Date()): Promise<BatchView> {
  return viewBatch(await getOwnBatch(userId, batchId), now);
}

/** GET /batches: the caller's batches, newest first. */
export async function listBatches(userId: string, query: { limit: number; cursor?: string }): Promise<BatchPage> {
  return listUserBatches(userId, query);
}

async function unfinishedTaskIds(userId: string, batchId: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const status of ['pending', 'claimed', 'running'] as TaskStatus[]) {
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
 * task of the batch that has not finished. Finished work stays in the report. Safe to repeat.
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
      await cancelTask(userId, taskId, now);
      cancelled += 1;
    } catch (error) {
      // It finished on its own meanwhile.
      if (!(error instanceof DomainError && error.code === 'TASK_ALREADY_COMPLETED')) throw error;
    }
  }
  logger.info('batch cancelled', { batch_id: batchId, user_id: userId, tasks_cancelled: cancelled });
  return { batch, tasks_cancelled: cancelled };
}

export interface BatchReportView {
  batch: Batch;
  occurrence: BatchOccurrence | null;
  /** Keys of the batch's runs, newest first (at most 60), for `?occurrence=`. */
  occurrences: string[];
  report: BatchReport;
}

function occurrenceKeyOf(batch: Batch, requested: string): string {
  if (!batch.schedule) {
    if (requested !== ONE_OFF_OCCURRENCE) throw new DomainError('NOT_FOUND', `Batch ${batch.id} runs once; its only occurrence is "${ONE_OFF_OCCURRENCE}"`);
    return ONE_OFF_OCCURRENCE;
  }
  const time = Date.parse(requested);
  if (Number.isNaN(time)) throw new ValidationError(`occurrence: "${requested}" is not an occurrence key such as 2026-10-26T01:00Z`);
  return `${floorToMinute(new Date(time)).toISOString().slice(0, 16)}Z`;
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
