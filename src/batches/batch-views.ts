import { estimateBatchCompletion, type BatchEta } from './eta.js';
import { batchProgress, type BatchProgress } from './report.js';
import { getConfig } from '../platform/config.js';
import { BatchNotFoundError, type Batch, type BatchOccurrence } from './batch.js';
import { TERMINAL_STATUSES, type Task } from '../tasks/task.js';
import { limitsOf } from '../accounts/account.js';
import { getBatch, getBatchTemplate, getOccurrence, listUserBatches, type BatchPage } from './batch-store.js';
import { getTask, listPendingTasks, pendingSortKey } from '../tasks/task-store.js';
import { activeTasksOf, recentAverageMinutes, remainingMinutes } from '../tasks/queue-forecast.js';
import { getUser } from '../accounts/user-store.js';
import { type TaskView } from '../tasks/task-views.js';
import { RESUME_STALLED_AFTER_SECONDS, finishOccurrence } from './materialize.js';

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

/** The batch if it belongs to `userId`; another user's batch is reported as not found. */
export async function getOwnBatch(userId: string, batchId: string): Promise<Batch> {
  const batch = await getBatch(batchId);
  if (!batch || batch.user_id !== userId) throw new BatchNotFoundError(batchId);
  return batch;
}

/** Reads tasks by id (strongly consistent), in the given order; missing ones are left out. */
export async function loadTasks(ids: readonly string[]): Promise<Task[]> {
  const tasks: (Task | null)[] = [];
  for (let i = 0; i < ids.length; i += 25) {
    tasks.push(...(await Promise.all(ids.slice(i, i + 25).map((id) => getTask(id)))));
  }
  return tasks.filter((task): task is Task => task !== null);
}

/** The latest run, finishing it first if its follow-up write was lost. */
export async function latestOccurrence(batch: Batch, now: Date): Promise<BatchOccurrence | null> {
  if (!batch.last_occurrence_key) return null;
  const occurrence = await getOccurrence(batch.id, batch.last_occurrence_key);
  if (occurrence?.state === 'materializing' && Date.parse(occurrence.materialized_at) + RESUME_STALLED_AFTER_SECONDS * 1000 <= now.getTime()) {
    await finishOccurrence(batch.id, occurrence.key);
    return getOccurrence(batch.id, occurrence.key);
  }
  return occurrence;
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
  const remaining = (task: Task): number => remainingMinutes(task, fallback, now);
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

export async function viewBatch(batch: Batch, now: Date): Promise<BatchView> {
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
