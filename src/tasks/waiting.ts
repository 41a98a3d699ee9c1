/**
 * Why a pending task waits, in one word and a sentence for people. Pure: the caller passes the
 * time and what it read of the user's account.
 */
import type { Task } from './task.js';
import { maxAttemptsOf, runAttempt } from './retry-policy.js';

export const WAITING_FOR = ['slot', 'not_before', 'monthly_hours', 'credits', 'device', 'batch_start'] as const;
export type WaitingFor = (typeof WAITING_FOR)[number];

export interface WaitingContext {
  now: Date;
  plan: string;
  running: number;
  maxConcurrent: number;
  /** When the monthly agent hours are used up: when they reset; null otherwise. */
  hoursResetAt: Date | null;
  monthlyHours: number | null;
  /** The task's 1-based place among the user's pending tasks. */
  queuePosition: number | null;
}

export interface Waiting {
  waiting_for: WaitingFor;
  waiting_message: string;
  /** The earliest the task may start for the estimate; null when no estimate can be made (device, credits). */
  earliestAt: Date | null;
  estimable: boolean;
}

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

/** The reason a pending task has not started, most specific first. */
export function whyWaiting(task: Task, context: WaitingContext): Waiting {
  const nowIso = context.now.toISOString();
  if (task.execution_location === 'local' && task.executor_id) {
    return { waiting_for: 'device', waiting_message: `Waiting for device ${task.executor_id} to lease it`, earliestAt: null, estimable: false };
  }
  if (task.not_before && task.not_before > nowIso) {
    const at = new Date(task.not_before);
    if ((task.attempt_history?.length ?? 0) > 0) {
      const last = task.attempt_history?.at(-1);
      const why = last?.failure_reason ? ` after attempt ${last.attempt} failed: ${last.failure_reason}` : '';
      return { waiting_for: 'not_before', waiting_message: `Retry: attempt ${runAttempt(task)} of ${maxAttemptsOf(task)} starts at ${task.not_before}${why}`, earliestAt: at, estimable: true };
    }
    if (task.batch_id) return { waiting_for: 'batch_start', waiting_message: `Its batch starts at ${task.not_before}`, earliestAt: at, estimable: true };
    return { waiting_for: 'not_before', waiting_message: `Scheduled to start at ${task.not_before}`, earliestAt: at, estimable: true };
  }
  if (context.hoursResetAt) {
    const hours = context.monthlyHours === null ? 'The' : `All ${context.monthlyHours}`;
    return {
      waiting_for: 'monthly_hours',
      waiting_message: `${hours} agent-hours of this billing cycle on the ${context.plan} plan are used; they reset at ${context.hoursResetAt.toISOString()}`,
      earliestAt: context.hoursResetAt,
      estimable: true,
    };
  }
  if (task.blocked_reason) {
    return { waiting_for: 'credits', waiting_message: `${task.blocked_reason}: the monthly credit limit of space ${task.space_id} is reached; it starts after the reset or an override`, earliestAt: null, estimable: false };
  }
  if (context.maxConcurrent <= 0) {
    return { waiting_for: 'slot', waiting_message: `Your limits allow 0 agents at once on the ${context.plan} plan; it starts when an admin raises them`, earliestAt: null, estimable: false };
  }
  const agents = `${context.running} of ${context.maxConcurrent} agents running on the ${context.plan} plan`;
  const ahead = (context.queuePosition ?? 1) - 1;
  const message = context.running >= context.maxConcurrent ? agents : ahead > 0 ? `${agents}; ${plural(ahead, 'task')} ahead` : `${agents}; starting now`;
  return { waiting_for: 'slot', waiting_message: message, earliestAt: null, estimable: true };
}
