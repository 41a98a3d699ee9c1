import type { Task } from '../../src/client/client.js';
import { formatDuration } from '../../src/client/format-duration.js';

/*
 * What the dashboard says about a task, as words and an icon, never colour alone. Pure: the
 * caller passes `now`, so the wording is tested with tables.
 */

export type BadgeTone = 'green' | 'blue' | 'gray' | 'red' | 'amber' | 'done' | 'failed';

export interface Badge {
  icon: string;
  label: string;
  tone: BadgeTone;
}

type BadgeInput = Pick<Task, 'status' | 'execution_location' | 'blocked_reason'>;

/** The execution badge of a task card: where and whether it runs. */
export function executionBadge(task: BadgeInput): Badge {
  switch (task.status) {
    case 'pending':
      return task.blocked_reason ? { icon: '🚫', label: 'Blocked (over quota)', tone: 'red' } : { icon: '⏳', label: 'Queued', tone: 'gray' };
    case 'claimed':
      return { icon: '🚀', label: task.execution_location === 'local' ? 'Starting on your device' : 'Starting in cloud', tone: 'amber' };
    case 'running':
      return task.execution_location === 'local' ? { icon: '⚙️', label: 'Running locally', tone: 'green' } : { icon: '☁️', label: 'Running in cloud', tone: 'blue' };
    case 'completed':
      return { icon: '✅', label: 'Completed', tone: 'done' };
    case 'failed':
      return { icon: '❌', label: 'Failed', tone: 'failed' };
    case 'cancelled':
      return { icon: '⊘', label: 'Cancelled', tone: 'gray' };
  }
}

export interface QueueState {
  running: number;
  max_concurrent: number;
}

/** Why a pending task is not running yet, in a person's words; null when it is not waiting. */
export function waitingReason(task: Pick<Task, 'status' | 'blocked_reason' | 'not_before'>, queue: QueueState | null, now: Date, timeZone?: string): string | null {
  if (task.status !== 'pending') return null;
  if (task.blocked_reason) return task.blocked_reason;
  if (task.not_before && Date.parse(task.not_before) > now.getTime()) return `starts at ${clock(task.not_before, timeZone)}`;
  if (queue && queue.running >= queue.max_concurrent) return `waiting for a free slot: ${queue.running} of ${queue.max_concurrent} running`;
  return 'waiting to be picked up';
}

/** 14:05 in the viewer's (or the given) time zone. */
export const clock = (iso: string, timeZone?: string): string =>
  new Date(iso).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false, ...(timeZone ? { timeZone } : {}) });

export const dateTime = (iso: string | null | undefined, timeZone?: string): string =>
  iso ? new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short', ...(timeZone ? { timeZone } : {}) }) : '—';

/** To the second, for a timeline. */
export const preciseTime = (iso: string, timeZone?: string): string =>
  new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'medium', ...(timeZone ? { timeZone } : {}) });

/** How long a task has run (to now while it runs, to its end once finished); null before it starts. */
export function elapsed(task: Pick<Task, 'started_at' | 'completed_at'>, now: Date): string | null {
  if (!task.started_at) return null;
  const end = task.completed_at ? Date.parse(task.completed_at) : now.getTime();
  return formatDuration(end - Date.parse(task.started_at));
}

export const credits = (value: number | null | undefined): string => {
  const n = value ?? 0;
  return `${Number.isInteger(n) ? n : n.toFixed(2)} credit${n === 1 ? '' : 's'}`;
};

export const hoursText = (value: number): string => `${value < 10 ? value.toFixed(2) : value.toFixed(1)} h`;

/** "This will cost 5 credits and run in the cloud". */
export const estimateSentence = (estimate: { estimated_credits: number; execution_location: 'local' | 'remote' }): string =>
  `This will cost ${credits(estimate.estimated_credits)} and run ${estimate.execution_location === 'local' ? 'locally' : 'in the cloud'}`;

/** "Estimated time: 2 seconds", in the largest unit that reads well. */
export function estimatedTime(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 90) return `Estimated time: ${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `Estimated time: ${minutes} minutes`;
  return `Estimated time: ${(minutes / 60).toFixed(1)} hours`;
}

/** Share of a limit used, 0..1 (0 when there is no limit). */
export const usedShare = (used: number, limit: number | null): number => (limit && limit > 0 ? Math.min(1, Math.max(0, used / limit)) : 0);

/** The warning banner shows from 80 % of the weekly soft limit. */
export const WEEKLY_WARNING_SHARE = 0.8;

/** "expected 05:40, deadline 07:00: on track" or why not. */
export function deadlineAnswer(eta: { expected_finish_at?: string | null; on_track?: boolean | null; reason?: string | null } | null | undefined, deadline: string | null, timeZone?: string): string | null {
  if (!deadline && !eta?.expected_finish_at) return null;
  const parts: string[] = [];
  if (eta?.expected_finish_at) parts.push(`expected ${clock(eta.expected_finish_at, timeZone)}`);
  if (deadline) parts.push(`deadline ${clock(deadline, timeZone)}`);
  const verdict = eta?.on_track === true ? 'on track' : eta?.on_track === false ? `at risk${eta.reason ? ` (${eta.reason})` : ''}` : eta?.reason ?? null;
  return verdict ? `${parts.join(', ')}: ${verdict}` : parts.join(', ');
}
