import { VIOLATION_KINDS, type ViolationKind } from './checker.js';
import type { ChaosReport } from './harness.js';

const LABELS: Record<ViolationKind, string> = {
  concurrencyViolations: 'concurrency violations (active > plan limit at a claim)',
  tasksClaimedTwice: 'tasks claimed twice (two live attempts at once)',
  twoLiveSandboxes: 'tasks with two live sandboxes at once',
  orphanSandboxes: 'sandboxes left running for a finished or requeued attempt',
  notTerminal: 'tasks not terminal after the final drain',
  hoursChargedTwice: 'hours charged twice (or more than used)',
  usageNotCharged: 'agent time charged nowhere',
  accountMismatches: 'accounts not matching their tasks',
  quotaOvershoot: 'monthly hours overshoot',
  creditsChargedTwice: 'credits charged twice',
  creditMismatches: 'credit ledger not matching its counters',
  creditOvershoot: 'space credit limit overshoot',
  timelineGaps: 'timeline gaps (checker could not order writes)',
};

const faultCount = (enabled: boolean, count: number): string => (enabled ? String(count) : 'off');

/** The checker's counts first, then what the run did, then examples of each violation. */
export function formatChaosReport(report: ChaosReport, elapsedMs: number): string {
  const { options, stats, check } = report;
  const lines = [
    `nightshift chaos: seed ${options.seed}, ${options.users} users, ${options.tasks} tasks, ${options.steps} steps (${Math.round(elapsedMs / 1000)} s)`,
    `virtual time ${report.virtualStart} -> ${report.virtualEnd}, drained in ${report.drainRounds} rounds`,
    '',
    `tasks: ${check.tasks} (${Object.entries(check.byStatus).map(([status, n]) => `${status} ${n}`).join(', ')})`,
  ];
  const width = Math.max(...VIOLATION_KINDS.map((kind) => LABELS[kind].length));
  for (const kind of VIOLATION_KINDS) lines.push(`${LABELS[kind].padEnd(width)}  ${check.counts[kind]}`);
  lines.push(
    '',
    `chaos applied: ${stats.claims} claims (${stats.claimsFromQueueHeads} from remembered queue heads) in ${stats.orchestratorPasses} orchestrator passes; spawns ${JSON.stringify(stats.spawnOutcomes)};`,
    `  ${stats.spawnerCrashes} spawner crashes after a sandbox started, ${stats.providerFailures} provider failures, ${stats.droppedMessages} lost spawn messages,`,
    `  ${stats.duplicatedDeliveries} duplicated deliveries, ${stats.redeliveries} redeliveries, ${stats.resentMessages} duplicate sends, ${stats.deadLetters} dead letters;`,
    `  ${stats.reports} callbacks (${stats.duplicateReports} duplicate, ${stats.lateReports} late, ${stats.rejectedReports} refused);`,
    `  ${stats.cancels} cancels, ${stats.adminChanges} plan changes, ${stats.timedOut} timeouts, ${stats.staleRequeued} stale claims requeued, ${stats.staleFailed} failed after retries;`,
    `  refused requests ${JSON.stringify(stats.rejected)}`,
    '',
    'DynamoDB faults fired:',
    `  lagged index reads (pending/ready/due)  ${faultCount(stats.faults.enabled.laggedIndexes, stats.faults.laggedIndex.served)}` +
      (stats.faults.enabled.laggedIndexes ? ` (${stats.faults.laggedIndex.differed} answered otherwise than the up-to-date index)` : ''),
    ...(['ProvisionedThroughputExceededException', 'ThrottlingException', 'TransactionConflict'] as const).map(
      (kind) => `  ${(kind === 'TransactionConflict' ? 'TransactionCanceled (TransactionConflict)' : kind).padEnd(39)} ${faultCount(stats.faults.enabled.throttling, stats.faults.throttled[kind])}`,
    ),
    `  requests that answered "storage busy" (503 / SQS retry): ${JSON.stringify(stats.storageBusy)}`,
  );
  if (stats.unexpected.length > 0) {
    lines.push('', `unexpected errors (${stats.unexpected.length}):`, ...stats.unexpected.slice(0, 10).map((text) => `  ${text}`));
  }
  for (const kind of VIOLATION_KINDS) {
    if (check.examples[kind].length === 0) continue;
    lines.push('', `${LABELS[kind]}:`, ...check.examples[kind].map((text) => `  ${text}`));
  }
  lines.push(
    '',
    report.violations === 0 ? 'OK: every invariant held.' : `FAILED: ${report.violations} violations.`,
    `reproduce: npm run chaos -- --seed ${options.seed} --users ${options.users} --tasks ${options.tasks} --steps ${options.steps} --trace`,
  );
  return lines.join('\n');
}
