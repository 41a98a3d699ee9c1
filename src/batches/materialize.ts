import { createHash } from 'node:crypto';
import { batchAdmissionError, type BatchTaskRejection } from './admission.js';
import { getConfig } from '../platform/config.js';
import { type Batch, type BatchOccurrence } from './batch.js';
import { type Task } from '../tasks/task.js';
import { limitsOf, reserveQueuedTasks, withQueueMoved } from '../accounts/account.js';
import { wakeForQueuedTasks } from '../scheduling/wake.js';
import { ContentionError, DomainError } from '../platform/errors.js';
import { logger } from '../platform/logger.js';
import type { TaskCreate } from '../tasks/schemas.js';
import { completeOccurrenceItem, getBatch, getOccurrence, putOccurrenceItem } from './batch-store.js';
import { putTaskItem } from '../tasks/task-store.js';
import { transact, TransactionConflictError, withOptimisticRetry, type TransactItem } from '../platform/dynamodb/transact.js';
import { getUser, putUserItem } from '../accounts/user-store.js';
import { assertQueueable, placementFields, placeTask } from '../tasks/placement.js';
import { newTask } from '../tasks/create-task.js';

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

/** Task ids of a run are derived from (batch, run, index): a run can never create a task twice. */
export function batchTaskId(batchId: string, key: string, index: number): string {
  const hex = createHash('sha256').update(`${batchId}/${key}/${index}`).digest('hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export const later = (a: string | null, b: string | null): string | null => (a === null ? b : b === null ? a : a > b ? a : b);

/** The tasks of a run, routed: task i is created at materialized_at + i ms, so the run keeps its order. */
function occurrenceTasks(plan: RunPlan, occurrence: BatchOccurrence): Task[] {
  const base = Date.parse(occurrence.materialized_at);
  return plan.templates.map((template, index) =>
    newTask(plan.batch.user_id, template, new Date(base + index), {
      ...plan.placements[index],
      id: occurrence.task_ids[index] ?? batchTaskId(plan.batch.id, occurrence.key, index),
      batch_id: plan.batch.id,
      not_before: later(occurrence.not_before, template.not_before ? new Date(template.not_before).toISOString() : null),
      ...plan.taskExtras?.[index],
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
export async function placeAll(userId: string, templates: TaskCreate[], now: Date): Promise<Partial<Task>[]> {
  const placements: Partial<Task>[] = [];
  for (let i = 0; i < templates.length; i += 10) {
    const settled = await Promise.allSettled(templates.slice(i, i + 10).map(async (template) => assertQueueable(await placeTask(userId, template, now))));
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

export interface RunPlan {
  batch: Batch;
  templates: TaskCreate[];
  /** Routing fields per task (placeAll). */
  placements: Partial<Task>[];
  /** More fields per task (a rerun's `rerun_of`). */
  taskExtras?: Partial<Task>[];
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
export async function recordSkipped(plan: RunPlan, now: Date, reason: { code: string; message: string }): Promise<void> {
  try {
    await transact([putOccurrenceItem(skippedOccurrence(plan, now, reason)), ...plan.batchItems]);
  } catch (error) {
    if (!(error instanceof TransactionConflictError)) throw error;
  }
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
        putUserItem(reserveQueuedTasks(user, tasks, now), now),
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
      // The account's queue version moves with them: an orchestrator's remembered queue head may no longer be the head.
      const now = new Date();
      const owner = rest[0] ? await getUser(rest[0].user_id, now) : null;
      await transact([
        ...rest.map((task) => putTaskItem(task)),
        completeOccurrenceItem(batchId, key),
        ...(owner ? [putUserItem(withQueueMoved(owner, now), now)] : []),
      ]);
      logger.info('batch run finished materializing', { batch_id: batchId, occurrence: key, tasks: rest.length });
      await wakeForQueuedTasks(rest, 'batch-enqueued');
      return rest;
    });
  } catch (error) {
    if (error instanceof TransactionConflictError) throw new ContentionError(`batch ${batchId}`);
    throw error;
  }
}

/** Commit, then the follow-up write when needed, then the wake-ups. */
export async function materializeRun(plan: RunPlan, now: Date): Promise<CommitResult> {
  const result = await commitRun(plan, now);
  if (result.kind === 'enqueued') {
    if (result.occurrence.state === 'materializing') await finishOccurrence(plan.batch.id, plan.key);
    await wakeForQueuedTasks(result.tasks.slice(0, result.occurrence.committed_count), 'batch-enqueued');
  } else if (result.kind === 'duplicate' && result.occurrence.state === 'materializing') {
    await finishOccurrence(plan.batch.id, plan.key);
  }
  return result;
}
