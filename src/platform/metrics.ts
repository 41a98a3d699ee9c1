import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * Product metrics (namespace Nightshift, dimension service). The stack's "orchestrator stopped
 * claiming while tasks wait" alarm reads TasksClaimed and PendingTasks.
 */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Nightshift',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'nightshift',
});

export type ProductMetric =
  | 'TasksCreated'
  | 'TasksClaimed'
  | 'PendingTasks'
  | 'TasksStarted'
  | 'TasksCompleted'
  | 'TasksFailed'
  | 'TasksTimedOut'
  | 'ClaimConflicts'
  /** A failed attempt sent back to pending for another try. */
  | 'TaskRetries'
  /** A task or user a sweeper or orchestrator pass could not handle (logged with its id, retried next pass). */
  | 'PassItemFailures'
  | 'NotificationsDelivered'
  | 'NotificationsFailed';

export function count(name: ProductMetric, value = 1): void {
  metrics.addMetric(name, MetricUnit.Count, value);
}

/** Milliseconds from a task's creation to its claim. */
export function claimLatency(milliseconds: number): void {
  metrics.addMetric('ClaimLatency', MetricUnit.Milliseconds, milliseconds);
}

/** Flushes what this invocation recorded (no-op when nothing was). */
export function publishMetrics(): void {
  // Publishing nothing makes Powertools warn on stderr on every request.
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
