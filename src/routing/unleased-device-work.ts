/**
 * Device work nobody leased: once its wait is over (routing/device-wait), work the router sent to
 * a device goes to the cloud instead (priced, and charged or blocked by quota, as cloud work),
 * and `local` work fails with NO_LOCAL_EXECUTOR. The sweeper finds these tasks on the `due` index.
 */
import { getConfig } from '../platform/config.js';
import { logger } from '../platform/logger.js';
import { wakeOrchestrator } from '../platform/queue/messages.js';
import { estimateCredits } from '../credits/pricing.js';
import type { Task } from '../tasks/task.js';
import { failPendingTask } from '../tasks/finish-task.js';
import { transitionTask } from '../tasks/transition.js';
import { deviceWaitOutcome } from './device-wait.js';

export type UnleasedOutcome = 'rerouted' | 'failed' | null;

const isDeviceQueued = (task: Task): boolean => task.status === 'pending' && task.execution_location === 'local' && task.executor_id !== null;

/** Re-routes or fails one device-queued task whose wait is over; null when it still waits or moved on. */
export async function handleUnleasedDeviceTask(candidate: Task, now: Date): Promise<UnleasedOutcome> {
  const config = getConfig();
  const limits = { leaseTimeoutSeconds: config.localLeaseTimeoutSeconds, maxWaitSeconds: config.localMaxWaitSeconds };
  const outcome = deviceWaitOutcome(candidate, limits, now);
  if (outcome.kind === 'wait' || !isDeviceQueued(candidate)) return null;
  if (outcome.kind === 'fail') return (await failPendingTask(candidate.id, outcome.reason, now, candidate.attempts)) ? 'failed' : null;
  let remoteCredits: number;
  try {
    remoteCredits = estimateCredits(
      {
        type: candidate.type,
        integration: candidate.integration,
        action: candidate.action,
        estimatedTokens: candidate.estimated_tokens,
        estimatedMinutes: candidate.estimated_minutes,
      },
      'remote',
    );
  } catch (error) {
    // The action has no cloud price: it cannot run in the cloud either.
    const reason = `NO_LOCAL_EXECUTOR: the device did not lease it and it cannot run in the cloud (${String(error)})`;
    return (await failPendingTask(candidate.id, reason, now, candidate.attempts)) ? 'failed' : null;
  }
  const transition = await transitionTask(candidate, now, (task) => {
    if (!isDeviceQueued(task) || task.attempts !== candidate.attempts) return null;
    return { ...task, execution_location: 'remote', executor_id: null, estimated_credits: remoteCredits, routing_note: outcome.reason };
  });
  if (!transition) return null;
  logger.info('device task re-routed to the cloud', { task_id: candidate.id, user_id: candidate.user_id, executor_id: candidate.executor_id });
  await wakeOrchestrator('rerouted');
  return 'rerouted';
}
