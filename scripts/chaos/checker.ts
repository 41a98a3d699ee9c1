import { billingWindow } from '../../src/accounts/billing-window.js';
import { effectiveLimits } from '../../src/accounts/plans.js';
import { ACTIVE_STATUSES, TERMINAL_STATUSES, type Task, type TaskStatus } from '../../src/tasks/task.js';
import type { UserAccount } from '../../src/accounts/account.js';
import type { ChaosSandbox } from './provider.js';
import type { AccountWrite, TimelineEntry } from './timeline.js';

export interface LedgerRow {
  taskId: string;
  spaceId: string;
  reason: string;
  units: number;
  monthlyWindow: string | null;
}

export interface UsageCounter {
  spaceId: string;
  window: string;
  usedUnits: number;
}

/** Everything the checker reads: the table after the drain, the claim timeline, the provider's record. */
export interface ChaosData {
  tasks: Task[];
  accounts: UserAccount[];
  ledger: LedgerRow[];
  counters: UsageCounter[];
  timeline: TimelineEntry[];
  untrackedWrites: string[];
  sandboxes: ChaosSandbox[];
  /** Sandboxes seen alive at the end of a step while their task attempt was over, with why. */
  orphans: Map<string, string>;
  maxPendingPerUser: number;
  /** Monthly credit limit (in units) of the spaces the run gave a quota. */
  creditLimitUnits: Map<string, number>;
}

export const VIOLATION_KINDS = [
  'concurrencyViolations',
  'tasksClaimedTwice',
  'twoLiveSandboxes',
  'orphanSandboxes',
  'notTerminal',
  'hoursChargedTwice',
  'usageNotCharged',
  'accountMismatches',
  'quotaOvershoot',
  'creditsChargedTwice',
  'creditMismatches',
  'creditOvershoot',
  'timelineGaps',
] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

export interface ChaosCheck {
  tasks: number;
  byStatus: Partial<Record<TaskStatus, number>>;
  counts: Record<ViolationKind, number>;
  /** The first few examples of each violation, for people. */
  examples: Record<ViolationKind, string[]>;
}

const EXAMPLES_PER_KIND = 5;
const isActive = (status: TaskStatus) => ACTIVE_STATUSES.has(status);

class Findings {
  readonly counts = Object.fromEntries(VIOLATION_KINDS.map((kind) => [kind, 0])) as Record<ViolationKind, number>;
  readonly examples = Object.fromEntries(VIOLATION_KINDS.map((kind) => [kind, [] as string[]])) as Record<ViolationKind, string[]>;

  add(kind: ViolationKind, example: string): void {
    this.counts[kind] += 1;
    if (this.examples[kind].length < EXAMPLES_PER_KIND) this.examples[kind].push(example);
  }
}

const limitsAt = (account: AccountWrite, maxPending: number) => effectiveLimits(account.plan, account.overrides, maxPending);

/**
 * Replays each user's committed transactions in version order (their exact commit order) and
 * checks, at every claim, the plan's concurrency and hours limits as they stood at that moment;
 * that no task gets a second live attempt; that every account write agrees with the tasks written
 * so far; and that each finished attempt's hours are charged once, by exactly what it used.
 */
function replayTimeline(data: ChaosData, findings: Findings): Map<string, number | null> {
  const byUser = new Map<string, { account: AccountWrite; entry: TimelineEntry }[]>();
  for (const entry of data.timeline) {
    if (entry.accounts.length === 0) {
      for (const write of entry.tasks) {
        // Only the spawner's claimed -> running write (and badges on pending tasks) may go without the account.
        const harmless = (write.expectedStatus === 'claimed' && write.status === 'running') || (write.expectedStatus === 'pending' && write.status === 'pending');
        if (!harmless) findings.add('timelineGaps', `task ${write.taskId} went ${write.expectedStatus} -> ${write.status} without its account (entry ${entry.seq})`);
      }
      continue;
    }
    for (const account of entry.accounts) {
      const list = byUser.get(account.userId) ?? [];
      list.push({ account, entry });
      byUser.set(account.userId, list);
    }
  }
  const maxMonthlyHours = new Map<string, number | null>();
  for (const [userId, writes] of byUser) {
    writes.sort((a, b) => a.account.version - b.account.version);
    const tasks = new Map<string, { status: TaskStatus; attempts: number }>();
    const settled = new Set<string>();
    let previous: AccountWrite | null = null;
    let highest: number | null = 0;
    for (const { account, entry } of writes) {
      const expectedVersion: number = (previous?.version ?? 0) + 1;
      if (account.version !== expectedVersion) findings.add('timelineGaps', `${userId}: version ${account.version} follows ${previous?.version ?? 0}`);
      const limits = limitsAt(account, data.maxPendingPerUser);
      highest = highest === null || limits.monthly_agent_hours === null ? null : Math.max(highest, limits.monthly_agent_hours);
      let claims = 0;
      const usedBefore = previous && previous.hoursWindow === account.hoursWindow ? previous.hoursUsedSeconds : 0;
      // What the attempts settled here used; `crossed` is the part reserved in an earlier window.
      let used = 0;
      const crossed: { taskId: string; seconds: number; window: string | null }[] = [];
      for (const write of entry.tasks.filter((t) => t.userId === userId)) {
        const before = tasks.get(write.taskId);
        const wasActive = before !== undefined && isActive(before.status);
        if (!wasActive && isActive(write.status)) claims += 1;
        if (wasActive && isActive(write.status) && before.attempts !== write.attempts) {
          findings.add('tasksClaimedTwice', `task ${write.taskId} claimed as attempt ${write.attempts} while attempt ${before.attempts} was ${before.status} (${userId} v${account.version})`);
        }
        if (wasActive && !isActive(write.status)) {
          const key = `${write.taskId}#${before.attempts}`;
          if (settled.has(key)) findings.add('hoursChargedTwice', `task ${write.taskId} attempt ${before.attempts} settled twice (${userId} v${account.version})`);
          settled.add(key);
          const seconds = write.status === 'pending' ? 0 : (write.usedSeconds ?? 0);
          used += seconds;
          if (write.hoursWindow !== account.hoursWindow && seconds > 0) crossed.push({ taskId: write.taskId, seconds, window: write.hoursWindow });
        }
        tasks.set(write.taskId, { status: write.status, attempts: write.attempts });
      }
      // Each settled attempt must be charged what it used, once, in whichever window settles it.
      const charged = account.hoursUsedSeconds - usedBefore;
      const uncharged = crossed.reduce((sum, c) => sum + c.seconds, 0);
      if (charged !== used && crossed.length > 0 && charged === used - uncharged) {
        for (const c of crossed) {
          findings.add('usageNotCharged', `task ${c.taskId} ran ${c.seconds} s reserved in window ${c.window} but settled in ${account.hoursWindow}: charged nowhere (${userId} v${account.version})`);
        }
      } else if (charged > used) {
        findings.add('hoursChargedTwice', `${userId} v${account.version}: hours used grew by ${charged} s, the attempts settled used ${used} s`);
      } else if (charged < used) {
        findings.add('accountMismatches', `${userId} v${account.version}: hours used grew by ${charged} s, the attempts settled used ${used} s`);
      }
      const active = [...tasks.values()].filter((t) => isActive(t.status)).length;
      const pending = [...tasks.values()].filter((t) => t.status === 'pending').length;
      if (account.runningCount !== active || account.pendingCount !== pending) {
        findings.add('accountMismatches', `${userId} v${account.version}: account says running ${account.runningCount}, pending ${account.pendingCount}; its tasks say ${active}, ${pending}`);
      }
      if (claims > 0 && active > limits.max_concurrent_agents) {
        findings.add('concurrencyViolations', `${userId} v${account.version}: ${active} active after a claim, limit ${limits.max_concurrent_agents} (${account.plan})`);
      }
      if (claims > 0 && limits.monthly_agent_hours !== null && account.hoursUsedSeconds + account.hoursReservedSeconds > limits.monthly_agent_hours * 3600) {
        findings.add('quotaOvershoot', `${userId} v${account.version}: ${account.hoursUsedSeconds} s used + ${account.hoursReservedSeconds} s reserved > ${limits.monthly_agent_hours} h after a claim`);
      }
      previous = account;
    }
    maxMonthlyHours.set(userId, highest);
  }
  return maxMonthlyHours;
}

/** The final table: every task terminal, every account equal to the sums over its tasks. */
function checkFinalState(data: ChaosData, maxMonthlyHours: Map<string, number | null>, findings: Findings): void {
  const tasksByUser = new Map<string, Task[]>();
  for (const task of data.tasks) {
    if (!TERMINAL_STATUSES.has(task.status)) findings.add('notTerminal', `task ${task.id} (${task.user_id}) is still ${task.status} after the drain`);
    tasksByUser.set(task.user_id, [...(tasksByUser.get(task.user_id) ?? []), task]);
  }
  for (const account of data.accounts) {
    const tasks = tasksByUser.get(account.user_id) ?? [];
    const inWindow = tasks.filter((t) => t.hours_window === account.hours_window);
    const active = tasks.filter((t) => isActive(t.status));
    const counts = { running: account.running_count, pending: account.pending_count };
    const expectedCounts = { running: active.length, pending: tasks.filter((t) => t.status === 'pending').length };
    if (counts.running !== expectedCounts.running || counts.pending !== expectedCounts.pending) {
      findings.add('accountMismatches', `${account.user_id} final: account ${JSON.stringify(counts)}, tasks ${JSON.stringify(expectedCounts)}`);
    }
    // Reservations of tasks claimed in an earlier window may or may not carry over; either is consistent.
    const reserved = [inWindow.filter((t) => isActive(t.status)), active].map((list) => list.reduce((sum, t) => sum + (t.reserved_seconds ?? 0), 0));
    if (!reserved.includes(account.hours_reserved_seconds)) {
      findings.add('accountMismatches', `${account.user_id} final: ${account.hours_reserved_seconds} s reserved, its active tasks hold ${reserved.join(' or ')} s`);
    }
    // Used: what tasks of this window used, plus (if the design charges them here) what tasks of an
    // earlier window used after being settled in this one.
    const windowStart = billingWindow(new Date(`${account.hours_window}T00:00:00Z`), account.billing_day).start.getTime();
    const own = inWindow.filter((t) => TERMINAL_STATUSES.has(t.status)).reduce((sum, t) => sum + (t.used_seconds ?? 0), 0);
    const carried = tasks
      .filter((t) => TERMINAL_STATUSES.has(t.status) && t.hours_window !== account.hours_window && t.completed_at && Date.parse(t.completed_at) >= windowStart)
      .reduce((sum, t) => sum + (t.used_seconds ?? 0), 0);
    if (account.hours_used_seconds !== own && account.hours_used_seconds !== own + carried) {
      findings.add('accountMismatches', `${account.user_id} final: ${account.hours_used_seconds} s used, its tasks of window ${account.hours_window} used ${own} s (${own + carried} s with tasks settled in it)`);
    }
    // Agent time actually run inside each billing window, wherever it was charged.
    const limit = maxMonthlyHours.get(account.user_id);
    if (limit === null || limit === undefined) continue;
    const perWindow = new Map<string, number>();
    for (const task of tasks) {
      if (!task.started_at || !task.used_seconds) continue;
      let from = Date.parse(task.started_at);
      const to = from + task.used_seconds * 1000;
      while (from < to) {
        const window = billingWindow(new Date(from), account.billing_day);
        const until = Math.min(to, window.end.getTime());
        perWindow.set(window.key, (perWindow.get(window.key) ?? 0) + (until - from) / 1000);
        from = until;
      }
    }
    for (const [window, seconds] of perWindow) {
      if (seconds > limit * 3600 + 1) {
        findings.add('quotaOvershoot', `${account.user_id}: agents ran ${Math.round(seconds)} s in billing window ${window}, the most the plan ever allowed is ${limit * 3600} s`);
      }
    }
  }
}

function checkSandboxes(data: ChaosData, findings: Findings): void {
  const byTask = new Map<string, ChaosSandbox[]>();
  for (const sandbox of data.sandboxes) byTask.set(sandbox.taskId, [...(byTask.get(sandbox.taskId) ?? []), sandbox]);
  for (const [taskId, sandboxes] of byTask) {
    const overlapping = sandboxes.some((a) =>
      sandboxes.some((b) => a.attempt < b.attempt && b.startSeq < (a.endSeq ?? Number.POSITIVE_INFINITY)),
    );
    if (overlapping) {
      findings.add('twoLiveSandboxes', `task ${taskId}: ${sandboxes.map((s) => `attempt ${s.attempt} alive ${s.startSeq}..${s.endSeq ?? 'end'} (${s.endReason ?? 'running'})`).join('; ')}`);
    }
  }
  for (const [sandboxId, why] of data.orphans) findings.add('orphanSandboxes', `${sandboxId}: ${why}`);
  for (const sandbox of data.sandboxes) {
    if (sandbox.endSeq === null) findings.add('orphanSandboxes', `${sandbox.id} still running after the drain`);
  }
}

/** Ledger rows sum to the usage counters; no task is charged twice; no monthly counter passes its limit. */
function checkCredits(data: ChaosData, findings: Findings): void {
  const charges = new Map<string, number>();
  for (const entry of data.timeline) {
    for (const row of entry.ledger) {
      if (row.reason !== 'charge') continue;
      const seen = (charges.get(row.taskId) ?? 0) + 1;
      charges.set(row.taskId, seen);
      if (seen > 1) findings.add('creditsChargedTwice', `task ${row.taskId} got charge row #${seen} (entry ${entry.seq})`);
    }
  }
  const sums = new Map<string, number>();
  for (const row of data.ledger) {
    if (!row.monthlyWindow) continue;
    const key = `${row.spaceId}|${row.monthlyWindow}`;
    sums.set(key, (sums.get(key) ?? 0) + row.units);
  }
  const counters = new Map(data.counters.filter((c) => c.window.startsWith('M')).map((c) => [`${c.spaceId}|${c.window}`, c.usedUnits]));
  for (const key of new Set([...sums.keys(), ...counters.keys()])) {
    const ledger = sums.get(key) ?? 0;
    const counter = counters.get(key) ?? 0;
    if (ledger !== counter) findings.add('creditMismatches', `${key}: ledger rows sum to ${ledger} units, the counter says ${counter}`);
  }
  for (const [key, used] of counters) {
    const limit = data.creditLimitUnits.get(key.split('|')[0] ?? '');
    if (limit !== undefined && used > limit) findings.add('creditOvershoot', `${key}: ${used} units used, the monthly limit is ${limit}`);
  }
}

export function checkInvariants(data: ChaosData): ChaosCheck {
  const findings = new Findings();
  for (const write of data.untrackedWrites) findings.add('timelineGaps', `written outside a transaction: ${write}`);
  const maxMonthlyHours = replayTimeline(data, findings);
  checkFinalState(data, maxMonthlyHours, findings);
  checkSandboxes(data, findings);
  checkCredits(data, findings);
  const byStatus: Partial<Record<TaskStatus, number>> = {};
  for (const task of data.tasks) byStatus[task.status] = (byStatus[task.status] ?? 0) + 1;
  return { tasks: data.tasks.length, byStatus, counts: findings.counts, examples: findings.examples };
}
