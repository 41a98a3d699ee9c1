import { taskOutcome, type TaskOutcome } from '../batches/report.js';
import { nextOccurrences, parseSchedule } from '../batches/schedule.js';
import type { Task } from '../tasks/task.js';

/** One task in the morning digest. */
export interface DigestTask {
  id: string;
  title: string;
  outcome: TaskOutcome;
  summary: string | null;
  /** Why it did not complete. */
  reason: string | null;
  attempts: number;
  branch: string | null;
  pull_request_url: string | null;
  agent_hours: number;
  credits: number;
  /** Queued tasks: when it is expected to start, where known. */
  expected_start_at: string | null;
}

/** A batch run (or, with `batch_id` null, the tasks queued on their own). */
export interface DigestGroup {
  batch_id: string | null;
  name: string;
  tasks: DigestTask[];
  completed: number;
  failed: number;
  agent_hours: number;
  credits: number;
}

export interface Digest {
  since: string;
  until: string;
  timezone: string;
  headline: string;
  groups: DigestGroup[];
  queued: DigestTask[];
  totals: { completed: number; failed: number; cancelled: number; queued: number; agent_hours: number; credits: number };
  /** The whole story as plain text (e-mail, Slack's fallback). */
  text: string;
}

export interface DigestInput {
  since: Date;
  until: Date;
  timezone: string;
  /** Tasks that ended in the window (latest state; duplicates are dropped). */
  finished: readonly Task[];
  /** The user's pending tasks now. */
  queued: readonly (Task & { expected_start_at?: string | null })[];
  /** batch id -> name, for the headings. */
  batchNames: Readonly<Record<string, string>>;
}

const round = (value: number, digits = 4): number => Math.round(value * 10 ** digits) / 10 ** digits;

function digestTask(task: Task & { expected_start_at?: string | null }): DigestTask {
  const outcome = taskOutcome(task);
  return {
    id: task.id,
    title: task.title,
    outcome,
    summary: task.result_summary,
    reason: outcome === 'completed' ? null : task.failure_reason,
    attempts: task.attempts,
    branch: task.branch ?? null,
    pull_request_url: task.pull_request_url ?? null,
    agent_hours: round((task.used_seconds ?? 0) / 3600),
    credits: round(task.actual_credits ?? 0),
    expected_start_at: task.status === 'pending' ? (task.expected_start_at ?? task.not_before ?? null) : null,
  };
}

/** Local wall time for people, e.g. "Tue 07:00" in the user's zone. */
export function localTime(instant: string, timezone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: timezone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(instant));
}

function line(task: DigestTask, timezone: string): string {
  const tries = task.attempts > 1 ? ` after ${task.attempts} attempts` : '';
  const parts = [`- ${task.title}: ${task.outcome.replace('_', ' ')}${tries}`];
  if (task.outcome === 'completed' && task.summary) parts.push(`  ${task.summary.split('\n')[0]?.slice(0, 300)}`);
  if (task.reason) parts.push(`  why: ${task.reason.split('\n')[0]?.slice(0, 300)}`);
  if (task.branch) parts.push(`  branch ${task.branch}${task.pull_request_url ? `, pull request ${task.pull_request_url}` : ''}`);
  if (task.outcome === 'pending') parts.push(`  ${task.expected_start_at ? `expected to start ${localTime(task.expected_start_at, timezone)}` : 'waiting to start'}`);
  else parts.push(`  ${task.agent_hours} h, ${task.credits} credits`);
  return parts.join('\n');
}

/**
 * The night's story: per batch run and loose task, what happened, with summary, branch and pull
 * request, hours, credits and failure reasons, then what is still queued. Null when there is
 * nothing to say (nothing ended in the window and nothing waits), so that no message goes out.
 */
export function buildDigest(input: DigestInput): Digest | null {
  const latest = new Map<string, Task>();
  for (const task of input.finished) {
    if (task.status !== 'completed' && task.status !== 'failed' && task.status !== 'cancelled') continue;
    latest.set(task.id, task);
  }
  const queued = input.queued.filter((task) => task.status === 'pending').map(digestTask);
  if (latest.size === 0 && queued.length === 0) return null;

  const groups = new Map<string, DigestGroup>();
  const ordered = [...latest.values()].sort((a, b) => (a.completed_at ?? '').localeCompare(b.completed_at ?? ''));
  for (const task of ordered) {
    const groupKey = task.batch_id ?? '';
    let group = groups.get(groupKey);
    if (!group) {
      group = { batch_id: task.batch_id, name: task.batch_id ? `Batch ${input.batchNames[task.batch_id] ?? task.batch_id}` : 'Tasks on their own', tasks: [], completed: 0, failed: 0, agent_hours: 0, credits: 0 };
      groups.set(groupKey, group);
    }
    const entry = digestTask(task);
    group.tasks.push(entry);
    if (entry.outcome === 'completed') group.completed += 1;
    if (entry.outcome === 'failed' || entry.outcome === 'timed_out') group.failed += 1;
    group.agent_hours = round(group.agent_hours + entry.agent_hours);
    group.credits = round(group.credits + entry.credits);
  }
  // Batch runs first, in the order they ended; loose tasks last.
  const list = [...groups.values()].sort((a, b) => Number(a.batch_id === null) - Number(b.batch_id === null));
  const all = list.flatMap((group) => group.tasks);
  const totals = {
    completed: all.filter((t) => t.outcome === 'completed').length,
    failed: all.filter((t) => t.outcome === 'failed' || t.outcome === 'timed_out').length,
    cancelled: all.filter((t) => t.outcome === 'cancelled').length,
    queued: queued.length,
    agent_hours: round(all.reduce((sum, t) => sum + t.agent_hours, 0)),
    credits: round(all.reduce((sum, t) => sum + t.credits, 0)),
  };
  const headline = `Your night: ${totals.completed} completed, ${totals.failed} failed${totals.queued ? `, ${totals.queued} still queued` : ''}`;
  const sections = list.map((group) => [`${group.name} (${group.completed} completed, ${group.failed} failed, ${group.agent_hours} h, ${group.credits} credits)`, ...group.tasks.map((t) => line(t, input.timezone))].join('\n'));
  if (queued.length) sections.push(['Still queued', ...queued.map((t) => line(t, input.timezone))].join('\n'));
  const text = [`${headline}.`, `From ${localTime(input.since.toISOString(), input.timezone)} to ${localTime(input.until.toISOString(), input.timezone)} (${input.timezone}).`, ...sections].join('\n\n');
  return { since: input.since.toISOString(), until: input.until.toISOString(), timezone: input.timezone, headline, groups: list, queued, totals, text };
}

/** The first instant strictly after `after` at which it is `digestAt` ("HH:MM") in `timezone` (DST-aware). */
export function nextDigestAt(digestAt: string, timezone: string, after: Date): Date {
  const [hours, minutes] = digestAt.split(':').map(Number);
  const schedule = parseSchedule({ cron: `${minutes} ${hours} * * *`, timezone });
  const [next] = nextOccurrences(schedule, after, 1);
  if (!next) throw new RangeError(`No next digest time for ${digestAt} in ${timezone}`);
  return next;
}
