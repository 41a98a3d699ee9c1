import type { BatchSchedule } from './schedule.js';
import type { Task } from '../tasks/task.js';
import { DomainError } from '../platform/errors.js';

/** A batch as stored and as the domain sees it (wire names, snake_case, as in the API). */
export interface Batch {
  id: string;
  user_id: string;
  name: string;
  /** `cancelled` stops the recurrence; finished work is never undone. */
  status: 'active' | 'cancelled';
  task_count: number;
  /** One-off: no task starts before it. Recurring: the first occurrence is the first after it. */
  not_before: string | null;
  /** One-off: the deadline. Recurring: the first occurrence's deadline (later ones keep its offset). */
  deadline: string | null;
  /** Recurring: seconds from an occurrence to its deadline; null without a deadline. */
  deadline_offset_seconds: number | null;
  /** IANA zone for the times people read (schedule's zone, the batch's `timezone`, or UTC). */
  timezone: string;
  schedule: BatchSchedule | null;
  /** Recurring and active: when the next occurrence is due. */
  next_occurrence_at: string | null;
  last_occurrence_key: string | null;
  occurrence_count: number;
  created_at: string;
  cancelled_at: string | null;
}

/** Runs queued by rerun-failed are keyed `rerun-<UTC second>` (e.g. rerun-2026-10-26T07:12:03Z). */
export const rerunKey = (now: Date): string => `rerun-${now.toISOString().slice(0, 19)}Z`;
export const isRerunKey = (key: string): boolean => key.startsWith('rerun-');

/** The one occurrence of a one-off batch, materialized when the batch is created. */
export const ONE_OFF_OCCURRENCE = 'once';

/**
 * - `materializing`: the commit transaction (user's reservation for every task) is done but the
 *   tasks that did not fit in it are not written yet; the batch scheduler resumes it.
 * - `enqueued`: every task exists.
 * - `skipped`: nothing was enqueued (quota, or the trigger came too late); `skipped_reason` says why.
 */
export type OccurrenceState = 'materializing' | 'enqueued' | 'skipped';

/** One run of a batch: the exactly-once guard and the list of the tasks it enqueued. */
export interface BatchOccurrence {
  batch_id: string;
  user_id: string;
  /** `once`, the occurrence's UTC minute (occurrenceKey), or a rerun's key (rerunKey). */
  key: string;
  /** When the occurrence was due; null for a one-off batch. */
  scheduled_for: string | null;
  state: OccurrenceState;
  skipped_reason: { code: string; message: string } | null;
  /** Deterministic ids of the occurrence's tasks, in batch order. */
  task_ids: string[];
  /** How many of `task_ids` the commit transaction wrote; the rest follow in one more write. */
  committed_count: number;
  /** While materializing: the tasks the commit had no room for, exactly as they will be written. */
  unwritten_tasks?: Task[];
  /** Time of the commit; task i is created at this time plus i ms, so the run keeps its order in the queue. */
  materialized_at: string;
  not_before: string | null;
  deadline: string | null;
}

export class BatchNotFoundError extends DomainError {
  constructor(batchId: string) {
    super('NOT_FOUND', `Batch ${batchId} was not found`);
    this.name = 'BatchNotFoundError';
  }
}
