/**
 * Retries: how many attempts a task has, which one is running, and when a failed one tries again.
 * Pure: the caller passes the time and the randomness.
 */
import type { AttemptRecord, Task } from './task.js';

export const DEFAULT_MAX_ATTEMPTS = 1;
export const MAX_ATTEMPTS_LIMIT = 5;
export const DEFAULT_RETRY_BACKOFF_SECONDS = 60;
/** Each delay is spread by up to this share either way, so tasks that failed together do not retry together. */
export const RETRY_JITTER = 0.1;

type AttemptFields = Pick<Task, 'attempt_history' | 'max_attempts' | 'retry_backoff_seconds'>;

/** The number of the attempt that is running or next to run (1 for a task that never ended one). */
export const runAttempt = (task: Pick<Task, 'attempt_history'>): number => (task.attempt_history?.length ?? 0) + 1;

export const maxAttemptsOf = (task: Pick<Task, 'max_attempts'>): number => task.max_attempts ?? DEFAULT_MAX_ATTEMPTS;

/** Whether a failure of the attempt now running leaves another one. */
export const hasAttemptsLeft = (task: AttemptFields): boolean => runAttempt(task) < maxAttemptsOf(task);

/**
 * Seconds before attempt `failedAttempt + 1` may start: backoff x 2^(failedAttempt-1), spread by
 * ±RETRY_JITTER (`random` in [0, 1)).
 */
export function retryDelaySeconds(backoffSeconds: number, failedAttempt: number, random: number): number {
  const base = backoffSeconds * 2 ** Math.max(0, failedAttempt - 1);
  return base * (1 - RETRY_JITTER + 2 * RETRY_JITTER * random);
}

/** Seconds and credits of the attempts already ended, which a task's totals carry. */
export function priorUsage(task: Pick<Task, 'attempt_history'>): { seconds: number; credits: number | null } {
  let seconds = 0;
  let credits: number | null = null;
  for (const attempt of task.attempt_history ?? []) {
    seconds += attempt.used_seconds;
    if (attempt.credits !== null) credits = (credits ?? 0) + attempt.credits;
  }
  return { seconds, credits };
}

/** Adds credits that may be unknown (null: never charged). */
export const addCredits = (a: number | null, b: number | null): number | null =>
  a === null && b === null ? null : Math.round(((a ?? 0) + (b ?? 0)) * 10_000) / 10_000;

export function attemptRecord(
  task: Pick<Task, 'attempt_history' | 'started_at' | 'claimed_at'>,
  endedAt: Date,
  outcome: AttemptRecord['outcome'],
  failureReason: string | null,
  usedSeconds: number,
  credits: number | null,
): AttemptRecord {
  return {
    attempt: runAttempt(task),
    started_at: task.started_at ?? task.claimed_at,
    ended_at: endedAt.toISOString(),
    outcome,
    failure_reason: failureReason,
    hours: Math.round((usedSeconds / 3600) * 10_000) / 10_000,
    used_seconds: usedSeconds,
    credits,
  };
}
