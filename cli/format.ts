import type { Schemas, Task } from '../src/client/client.js';
import { formatDuration } from '../src/client/format-duration.js';

/*
 * Pure formatting of what the CLI prints: tables, the batch progress line and the morning
 * report. Colour is a parameter (only on a TTY and never under NO_COLOR); nothing here is
 * conveyed by colour alone.
 */

export interface Style {
  color: boolean;
}

const CODES = { green: 32, red: 31, yellow: 33, dim: 2, bold: 1, cyan: 36 } as const;
export const paint = (style: Style, code: keyof typeof CODES, text: string): string => (style.color ? `\u001b[${CODES[code]}m${text}\u001b[0m` : text);

/** Whether to colour and redraw: a TTY, and no NO_COLOR in the environment. */
export const styleFor = (stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): Style => ({ color: Boolean(stream.isTTY) && !('NO_COLOR' in env && env.NO_COLOR !== '') });

/** "05:40" in the given IANA zone. */
export const clock = (iso: string, timeZone = 'UTC'): string =>
  new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone }).format(new Date(iso));

const STATUS_COLOR: Record<Task['status'], keyof typeof CODES> = {
  pending: 'dim',
  claimed: 'cyan',
  running: 'cyan',
  completed: 'green',
  failed: 'red',
  cancelled: 'yellow',
};

/** The status with the execution badge: `running [remote]`, `pending [local] blocked`. */
export function statusBadge(task: Pick<Task, 'status' | 'execution_location' | 'blocked_reason'>, style: Style): string {
  const blocked = task.status === 'pending' && task.blocked_reason ? ' blocked' : '';
  return `${paint(style, STATUS_COLOR[task.status], task.status)} [${task.execution_location}]${blocked}`;
}

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const visible = (text: string): number => text.replace(ANSI, '').length;

/** A left-aligned table with a header row; cells may carry colour codes. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) => Math.max(visible(header), ...rows.map((row) => visible(row[column] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell + ' '.repeat(widths[column]! - visible(cell))))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

const truncate = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** `nightshift ls`: title, status with badge, queue position, started, duration, credits, id. */
export function taskTable(tasks: Task[], style: Style, now: Date): string {
  if (tasks.length === 0) return 'No tasks.';
  return table(
    ['TITLE', 'STATUS', 'POS', 'WAITING', 'STARTED', 'DURATION', 'CREDITS', 'ID'],
    tasks.map((task) => [
      truncate(task.title, 40),
      statusBadge(task, style),
      task.queue_position === null ? '-' : `#${task.queue_position}`,
      waitingCell(task),
      task.started_at ? task.started_at.replace('T', ' ').slice(0, 16) : '-',
      task.started_at ? formatDuration((task.completed_at ? Date.parse(task.completed_at) : now.getTime()) - Date.parse(task.started_at)) : '-',
      String(task.actual_credits ?? task.estimated_credits),
      task.id,
    ]),
  );
}

/** "slot ~23:40": what a pending task waits for and when it should start (UTC). */
function waitingCell(task: Task): string {
  if (!task.waiting_for) return '-';
  return task.expected_start_at ? `${task.waiting_for} ~${task.expected_start_at.slice(11, 16)}` : task.waiting_for;
}

/** "2 of 3 (1 failed: tests red)" for a task that retries; null for a single attempt. */
function attemptsText(task: Task): string | null {
  const history = task.attempt_history ?? [];
  const max = task.max_attempts ?? 1;
  if (max <= 1 && history.length <= 1) return null;
  const failed = history.filter((attempt) => attempt.outcome === 'failed');
  const last = failed.at(-1);
  const done = history.length;
  const current = task.status === 'pending' || task.status === 'claimed' || task.status === 'running' ? done + 1 : done;
  return `${current} of ${max}${last ? ` (${failed.length} failed, last: ${last.failure_reason ?? 'no reason'})` : ''}`;
}

type QueueStatus = Schemas['QueueStatus'];

/** `nightshift status`: the queue against the plan, and why the next task waits. */
export function queueStatusText(status: QueueStatus): string {
  const hours = status.monthly_hours_limit === null ? `${status.monthly_hours_used} agent-hours used (unlimited)` : `${status.monthly_hours_used} of ${status.monthly_hours_limit} agent-hours used`;
  const lines = [`${status.running} of ${status.max_concurrent} agents running, ${status.pending} pending; ${hours}`];
  if (status.waiting_message) lines.push(`Next: ${status.waiting_message}${status.next_expected_start_at ? `; expected to start about ${status.next_expected_start_at}` : ''}`);
  const counts = Object.entries(status.waiting_counts ?? {}).filter(([, count]) => count > 0);
  if (counts.length > 0) lines.push(`Waiting for: ${counts.map(([reason, count]) => `${reason} ${count}`).join(', ')}`);
  return lines.join('\n');
}

/** `nightshift show`: one task, field by field. */
export function taskDetails(task: Task, style: Style): string {
  const rows: Array<[string, string | null]> = [
    ['id', task.id],
    ['title', task.title],
    ['status', statusBadge(task, style)],
    ['position', task.queue_position === null ? null : `#${task.queue_position}`],
    ['waiting', task.waiting_message ?? task.blocked_reason],
    ['expected', task.expected_start_at ? `starts about ${task.expected_start_at}` : null],
    ['attempts', attemptsText(task)],
    ['rerun of', task.rerun_of],
    ['priority', String(task.priority)],
    ['space', task.space_id],
    ['batch', task.batch_id],
    ['created', task.created_at],
    ['not before', task.not_before],
    ['started', task.started_at],
    ['completed', task.completed_at],
    ['credits', String(task.actual_credits ?? task.estimated_credits)],
    ['summary', task.result_summary],
    ['failure', task.failure_reason],
    ['files', task.files_changed?.length ? task.files_changed.join(', ') : null],
    ['repository', repositoryLines(task.id, task).join('\n' + ' '.repeat(11)) || null],
  ];
  return rows
    .filter(([, value]) => value !== null && value !== '')
    .map(([name, value]) => `${paint(style, 'dim', name.padEnd(11))}${value}`)
    .join('\n');
}

type BatchView = Schemas['BatchView'];

/** The deadline answer: "expected 05:40, deadline 07:00: on track". */
export function deadlineAnswer(batch: Pick<BatchView, 'eta' | 'deadline' | 'timezone' | 'occurrence'>): string | null {
  if (!batch.eta) return null;
  const deadline = batch.occurrence?.deadline ?? batch.deadline;
  const expected = `expected ${clock(batch.eta.expected_finish_at, batch.timezone)}`;
  if (!deadline) return expected;
  const verdict = batch.eta.on_track ? 'on track' : `at risk${batch.eta.reason ? ` (${batch.eta.reason})` : ''}`;
  return `${expected}, deadline ${clock(deadline, batch.timezone)}: ${verdict}`;
}

/** `nightshift watch --batch`: one line of progress. */
export function batchProgressLine(batch: BatchView, elapsedMs: number, style: Style): string {
  const p = batch.progress;
  const parts = [
    paint(style, 'green', `${p.completed} done`),
    paint(style, 'cyan', `${p.running + p.claimed} running`),
    `${p.pending} queued`,
    paint(style, p.failed > 0 ? 'red' : 'dim', `${p.failed} failed`),
  ];
  if (p.cancelled > 0) parts.push(`${p.cancelled} cancelled`);
  const eta = !p.finished && batch.eta ? `, ETA ${clock(batch.eta.expected_finish_at, batch.timezone)}` : '';
  return `${batch.name}: ${parts.join(' / ')} of ${p.total}, ${formatDuration(elapsedMs)} elapsed${eta}`;
}

type Report = Schemas['BatchReport'];

interface RepositoryOutcome {
  branch: string | null;
  diff_stat: { files: number; insertions: number; deletions: number } | null;
  pull_request_url: string | null;
  push_error: string | null;
  fetch_command: string | null;
}

/** "2 files, +8 -0" (git's numbers); a repository task that changed nothing says so. */
export const diffStatText = (stat: RepositoryOutcome['diff_stat']): string | null =>
  stat === null ? null : stat.files === 0 ? 'no changes' : `${stat.files} file${stat.files === 1 ? '' : 's'}, +${stat.insertions} -${stat.deletions}`;

/** What a repository task handed back, and how to get it: branch and stat, pull request or push error, the patch. */
export function repositoryLines(taskId: string, outcome: RepositoryOutcome): string[] {
  if (!outcome.branch) return [];
  const stat = diffStatText(outcome.diff_stat);
  const lines = [`branch ${outcome.branch}${stat ? ` (${stat})` : ''}`];
  if (outcome.pull_request_url) lines.push(`pull request ${outcome.pull_request_url}`);
  if (outcome.push_error) lines.push(`push failed: ${truncate(outcome.push_error.replace(/\s+/g, ' '), 200)}`);
  if (outcome.diff_stat && outcome.diff_stat.files > 0) lines.push(`patch: nightshift diff ${taskId}${outcome.fetch_command ? `  or  ${outcome.fetch_command}` : ''}`);
  return lines;
}

const OUTCOME_MARK: Record<Report['tasks'][number]['outcome'], [string, keyof typeof CODES]> = {
  completed: ['✓', 'green'],
  failed: ['✗', 'red'],
  timed_out: ['⏱', 'red'],
  cancelled: ['-', 'yellow'],
  pending: ['·', 'dim'],
  claimed: ['▸', 'cyan'],
  running: ['▸', 'cyan'],
};

/** `nightshift report`: the night's story, per task and in total. */
export function batchReportText(report: Report, style: Style): string {
  const lines: string[] = [];
  const occurrence = report.occurrence ? ` — run ${report.occurrence.key}` : '';
  lines.push(paint(style, 'bold', `${report.name} (${report.batch_id})${occurrence}`));
  if (report.occurrence?.skipped_reason) lines.push(`skipped: ${report.occurrence.skipped_reason.message}`);
  for (const task of report.tasks) {
    const [mark, color] = OUTCOME_MARK[task.outcome];
    const took = task.started_at && task.completed_at ? formatDuration(Date.parse(task.completed_at) - Date.parse(task.started_at)) : '-';
    lines.push(`${paint(style, color, `${mark} ${task.outcome.padEnd(9)}`)} ${task.title}  (${took}, ${task.agent_hours} h, ${task.credits} credits)`);
    const said = task.summary ?? task.reason;
    if (said) lines.push(`    ${truncate(said.replace(/\s+/g, ' '), 200)}`);
    if (task.files_changed.length > 0) lines.push(`    files: ${task.files_changed.join(', ')}`);
    if (task.repository) for (const line of repositoryLines(task.task_id, task.repository)) lines.push(`    ${line}`);
  }
  const t = report.totals;
  const span = t.started_at && t.finished_at ? `, ${t.started_at.slice(11, 16)}–${t.finished_at.slice(11, 16)} UTC` : '';
  lines.push(
    `Totals: ${t.completed}/${t.tasks} completed, ${t.failed} failed, ${t.timed_out} timed out, ${t.cancelled} cancelled, ${t.unfinished} unfinished; ` +
      `${t.agent_hours} agent-hours, ${t.credits} credits, ${t.files_changed} files changed${span}`,
  );
  return lines.join('\n');
}
